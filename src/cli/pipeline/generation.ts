// Text generation from a causal LM, with or without an adapter: token by token, with the text streamed as it comes,
// stop strings, and for chat the template's end-of-turn token as a stop. Injected adapters (LoRA, IA3, bottleneck)
// change the model's own layers, so the key/value cache works as usual. Prompt-learning adapters put virtual tokens
// in front of every forward pass, which the cache cannot hold, so they rerun the whole sequence at each step:
// slower, and the same tokens.
import type { Turn } from "../../data/index.js";
import { generationSteps, type CausalLM, type GenerateOptions } from "../../models/generation.js";
import type { PreTrainedModel } from "../../models/index.js";
import { PeftModel } from "../../peft/index.js";
import { Tensor, asTensor, cat } from "../../tensor/index.js";
import type { PreTrainedTokenizer } from "../../tokenizers/index.js";
import { warn } from "../../warnings/index.js";

export interface TextGenerationOptions extends GenerateOptions {
  /** Generation stops when the text ends with one of these; the stop string is left out of the result. */
  stop?: string[];
  /** Receives the text as it is generated: never half a character, never what may turn out to be a stop string. */
  onText?: (chunk: string) => void;
}

export interface GeneratedText {
  text: string;
  /** Tokens generated (an eos or end-of-turn token included). */
  tokens: number;
  finish: "eos" | "stop" | "length";
}

/** Continues `prompt` (encoded with the tokenizer's special tokens, as transformers' pipelines do). */
export async function generateText(model: PreTrainedModel | PeftModel, tokenizer: PreTrainedTokenizer, prompt: string, opts: TextGenerationOptions): Promise<GeneratedText> {
  const ids = await tokenizer.encode(prompt);
  if (ids.length === 0) throw new Error("the prompt has no tokens");
  return generateFromIds(model, tokenizer, ids, opts);
}

/** The assistant's next turn in a conversation: the chat template's prompt with the generation prompt, stopped by
 *  eos or by the template's end-of-turn token (its text as a stop string when it is not one token). */
export async function chatReply(model: PreTrainedModel | PeftModel, tokenizer: PreTrainedTokenizer, messages: Turn[], opts: TextGenerationOptions): Promise<GeneratedText> {
  const ids = await tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
  const end = await tokenizer.chatTurnEnd();
  const eos = new Set(idList(opts.eosTokenId === undefined ? causalLm(model).config.eosTokenId : opts.eosTokenId));
  if (tokenizer.eosTokenId !== undefined) eos.add(tokenizer.eosTokenId);
  if (end?.tokenId != null) eos.add(end.tokenId);
  const stop = [...(opts.stop ?? []), ...(end && end.tokenId === null && end.text !== "" ? [end.text] : [])];
  return generateFromIds(model, tokenizer, ids, { ...opts, eosTokenId: [...eos], stop });
}

async function generateFromIds(model: PreTrainedModel | PeftModel, tokenizer: PreTrainedTokenizer, ids: number[], asked: TextGenerationOptions): Promise<GeneratedText> {
  const lm = causalLm(model);
  const opts = { ...asked, maxNewTokens: withinContext(model, ids.length, asked.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS) };
  const eos = idList(opts.eosTokenId === undefined ? lm.config.eosTokenId : opts.eosTokenId);
  const stops = (opts.stop ?? []).filter((s) => s !== "");
  const generated: number[] = [];
  let text = "", shown = 0, tokens = 0, finish: GeneratedText["finish"] = "length";
  const show = (upTo: number) => {
    if (upTo > shown) opts.onText?.(text.slice(shown, upTo));
    shown = Math.max(shown, upTo);
  };
  for (const next of generationSteps(lm, [ids], opts)) {
    tokens++;
    if (eos.includes(next[0]!)) { finish = "eos"; break; }
    generated.push(next[0]!);
    text = await tokenizer.decode(generated, { skipSpecialTokens: true });
    const hit = firstStop(text, stops);
    if (hit !== null) {
      text = text.slice(0, hit);
      finish = "stop";
      break;
    }
    show(safeLength(text, stops));
  }
  show(text.length);
  return { text, tokens, finish };
}

/** generationSteps' default. */
const DEFAULT_MAX_NEW_TOKENS = 20;

/** New tokens that fit after the prompt: generation past the model's positions would fail and lose the text so far,
 *  so it stops at the end of the context, with a warning. */
function withinContext(model: PreTrainedModel | PeftModel, promptTokens: number, wanted: number): number {
  const base = model instanceof PeftModel ? model.model : model;
  // Prompt-learning adapters put their virtual tokens in front of the text.
  const virtual = model instanceof PeftModel && model.kind === "prompt" ? ((model.activeConfig as { numVirtualTokens?: number }).numVirtualTokens ?? 0) : 0;
  const positions = base.shape().maxPositions - virtual;
  if (promptTokens >= positions) throw new Error(`the prompt has ${promptTokens} tokens, which fill the model's context of ${positions} positions; shorten it`);
  const room = positions - promptTokens;
  if (wanted <= room) return wanted;
  warn(`generation stops after ${room} new tokens, at the end of the model's context (${positions} positions), not after the ${wanted} asked for`, "FINETUNE_CONTEXT");
  return room;
}

function idList(v: number | number[] | null | undefined): number[] {
  return v === null || v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Where the earliest stop string starts in the text, or null. */
function firstStop(text: string, stops: string[]): number | null {
  let at: number | null = null;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (at === null || i < at)) at = i;
  }
  return at;
}

/** How much of the text can be shown: not a trailing replacement character (a character whose bytes have not all
 *  come yet) nor an ending that could still grow into a stop string. */
function safeLength(text: string, stops: string[]): number {
  let n = text.length;
  while (n > 0 && text[n - 1] === "\uFFFD") n--;
  let held = 0;
  for (const s of stops) {
    for (let k = Math.min(s.length - 1, n); k > held; k--) {
      if (text.slice(n - k, n) === s.slice(0, k)) { held = k; break; }
    }
  }
  return n - held;
}

function causalLm(model: PreTrainedModel | PeftModel): CausalLM {
  const base = model instanceof PeftModel ? model.model : model;
  const config = base.config as unknown as CausalLM["config"];
  if (!("eosTokenId" in config)) throw new Error(`${base.constructor.name} is not a causal language model`);
  if (!(model instanceof PeftModel) || model.kind === "inject") return { config, forward: (input) => model.forward(input) };
  let sequence: Tensor | null = null;
  return {
    config,
    forward(input) {
      const ids = asTensor(input.inputIds!, "int32");
      sequence = input.pastKeyValues && sequence ? cat([sequence, ids], 1) : ids;
      // An empty cache keeps generation feeding one new token per step; the sequence lives here.
      return { logits: model.forward({ inputIds: sequence, attentionMask: input.attentionMask }).logits, pastKeyValues: [] };
    },
  };
}
