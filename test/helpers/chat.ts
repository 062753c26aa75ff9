// Real chat templates (test/data/chat-templates, provenance in test/data/README.md) on a tokenizer that has their
// special tokens: the GPT-2 byte-level BPE vocabulary plus each family's markers added as special tokens, the way
// fine-tunes of GPT-2-sized models add ChatML tokens. Rendering reads only the token strings, so the rendered text
// is what the real tokenizer renders; the tokenization is GPT-2's.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AutoTokenizer, type PreTrainedTokenizer, type SpecialTokensToAdd } from "../../src/tokenizers/index.js";

export const TEMPLATES = fileURLToPath(new URL("../data/chat-templates/", import.meta.url));
export const TOKENIZERS = fileURLToPath(new URL("../data/tokenizers/", import.meta.url));

/** The special tokens each model's tokenizer_config.json names (bos/eos as on the Hub), and the markers its
 *  template writes, which the real vocabularies hold as single tokens. */
export const CHAT_TOKENS: Record<string, SpecialTokensToAdd> = {
  "Qwen-Qwen2.5-7B-Instruct": { eosToken: "<|im_end|>", padToken: "<|endoftext|>", additionalSpecialTokens: ["<|im_start|>", "<|im_end|>"] },
  "Qwen-Qwen3-0.6B": { eosToken: "<|im_end|>", padToken: "<|endoftext|>", additionalSpecialTokens: ["<|im_start|>", "<|im_end|>", "<think>", "</think>"] },
  "meta-llama-Llama-3.2-3B-Instruct": {
    bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", additionalSpecialTokens: ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
  },
  "google-gemma-2-2b-it": { bosToken: "<bos>", eosToken: "<eos>", padToken: "<pad>", additionalSpecialTokens: ["<start_of_turn>", "<end_of_turn>"] },
  "microsoft-Phi-3.5-mini-instruct": { bosToken: "<s>", eosToken: "<|endoftext|>", additionalSpecialTokens: ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"] },
  "mistralai-Mistral-Nemo-Instruct-2407": { bosToken: "<s>", eosToken: "</s>", additionalSpecialTokens: ["[INST]", "[/INST]"] },
};

/** GPT-2's tokenizer with the named template and its tokens. */
export async function chatTokenizer(name: keyof typeof CHAT_TOKENS): Promise<PreTrainedTokenizer> {
  const tokenizer = await AutoTokenizer.fromPretrained(join(TOKENIZERS, "gpt2"));
  tokenizer.addSpecialTokens(CHAT_TOKENS[name]!);
  tokenizer.chatTemplate = await readFile(join(TEMPLATES, `${name}.jinja`), "utf8");
  return tokenizer;
}

/** The text of every run of masked tokens, cut from the rendered text by the tokens' offsets. */
export async function maskedSpans(tokenizer: PreTrainedTokenizer, text: string, mask: number[]): Promise<string[]> {
  const offsets = (await tokenizer.call(text, { addSpecialTokens: false, returnOffsetsMapping: true })).offsetMapping![0]!;
  const spans: string[] = [];
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] !== 1 || mask[i - 1] === 1) continue;
    let j = i;
    while (mask[j + 1] === 1) j++;
    spans.push(text.slice(offsets[i]![0], offsets[j]![1]));
  }
  return spans;
}
