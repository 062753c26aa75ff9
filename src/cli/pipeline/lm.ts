// Causal-LM data and scores: records tokenized for next-token training, and loss / perplexity per token.
import { readFile } from "node:fs/promises";
import { DataLoader, conversationOf, recordSource, type JsonRecord, type Turn } from "../../data/index.js";
import type { PreTrainedModel } from "../../models/index.js";
import type { PeftModel } from "../../peft/index.js";
import type { Example } from "../../data/collate.js";
import type { PreTrainedTokenizer } from "../../tokenizers/index.js";
import { CausalLMModule, Trainer, tokenizeDataset, type ForwardModel, type Metrics } from "../../train/index.js";
import { UsageError } from "../command.js";
import { padTokenId } from "./classifier.js";
import { chatReply, generateText } from "./generation.js";

export interface LmColumns {
  textColumn?: string;
  promptColumn?: string;
  completionColumn?: string;
  /** Loss on prompts and every conversation turn too. */
  trainOnPrompt?: boolean;
}

/** --chat-template FILE: the template replaces the tokenizer's own (and is saved with it). */
export async function useChatTemplateFile(tokenizer: PreTrainedTokenizer, file: string | undefined): Promise<void> {
  if (file === undefined) return;
  const text = await readFile(file, "utf8").catch((e: Error) => {
    throw new UsageError(`--chat-template ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : e.message}`);
  });
  tokenizer.chatTemplate = text;
  // A template that does not parse should fail here, naming the file, not on the first row.
  try {
    tokenizer.applyChatTemplate([{ role: "user", content: "Hello" }], { tokenize: false, addGenerationPrompt: true });
  } catch (e) {
    if (/cannot parse/.test((e as Error).message)) throw new UsageError(`--chat-template ${file}: ${(e as Error).message}`);
  }
}

/** `label` names the rows in the warning about cut or dropped ones ("train data", a file). */
export function tokenizeLm(tokenizer: PreTrainedTokenizer, rows: JsonRecord[], maxLength: number, columns: LmColumns, label: string): Promise<Example[]> {
  return tokenizeDataset(tokenizer, rows, { task: "causal-lm", maxLength, ...columns, label });
}

/** loss and ppl over every labelled token of `examples`. */
export async function evaluateLm(model: ForwardModel, tokenizer: PreTrainedTokenizer, examples: Example[], batchSize: number): Promise<Metrics> {
  if (examples.length === 0) throw new Error("no rows to evaluate (every row was empty after tokenization)");
  const loader = new DataLoader(examples, { batchSize, padTokenId: padTokenId(tokenizer), seed: 0 });
  const [m] = await new Trainer({ enableProgressBar: false, logger: false }).test(new CausalLMModule(model), loader);
  return { loss: m.test_loss, ppl: m.test_ppl, rows: examples.length };
}

export interface ExactMatchOptions extends LmColumns {
  /** The answer is what follows the last occurrence of this marker (GSM8K's "####"); "" compares whole texts. */
  marker: string;
  maxNewTokens: number;
}

/**
 * Share of rows whose greedy answer matches the reference: a conversation's last assistant turn is generated from
 * the turns before it, a prompt/completion row's completion from its prompt. Both texts are cut after the last
 * marker (when they hold it), to their first non-empty line, with whitespace runs made single spaces.
 */
export async function exactMatch(model: PreTrainedModel | PeftModel, tokenizer: PreTrainedTokenizer, rows: JsonRecord[], o: ExactMatchOptions): Promise<Metrics> {
  let correct = 0;
  for (const [i, row] of rows.entries()) {
    const where = recordSource(row) ?? `row ${i}`;
    const { reference, generate } = exactMatchTask(row, where, o);
    const opts = { maxNewTokens: o.maxNewTokens };
    const answer = generate.kind === "chat"
      ? await chatReply(model, tokenizer, generate.messages, opts)
      : await generateText(model, tokenizer, generate.prompt, opts);
    if (extractAnswer(answer.text, o.marker) === extractAnswer(reference, o.marker)) correct++;
  }
  return { exact_match: rows.length ? correct / rows.length : 0, exact_match_rows: rows.length };
}

type Generation = { kind: "chat"; messages: Turn[] } | { kind: "text"; prompt: string };

function exactMatchTask(row: JsonRecord, where: string, o: LmColumns): { reference: string; generate: Generation } {
  const turns = conversationOf(row, where);
  if (turns) {
    const last = turns.map((t) => t.role).lastIndexOf("assistant");
    if (last < 1) throw new UsageError(`${where}: exact-match needs an assistant turn after the question`);
    return { reference: turns[last]!.content, generate: { kind: "chat", messages: turns.slice(0, last) } };
  }
  const prompt = row[o.promptColumn ?? "prompt"], completion = row[o.completionColumn ?? "completion"];
  if (typeof prompt !== "string" || typeof completion !== "string") {
    throw new UsageError(`${where}: exact-match needs conversations or prompt/completion rows`);
  }
  return { reference: completion, generate: { kind: "text", prompt } };
}

export function extractAnswer(text: string, marker: string): string {
  const at = marker === "" ? -1 : text.lastIndexOf(marker);
  const after = at < 0 ? text : text.slice(at + marker.length);
  const line = after.split("\n").find((l) => l.trim() !== "") ?? "";
  return line.trim().replace(/\s+/g, " ");
}
