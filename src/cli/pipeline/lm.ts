// Causal-LM data and scores: records tokenized for next-token training, and loss / perplexity per token.
import { readFile } from "node:fs/promises";
import type { JsonRecord } from "../../data/index.js";
import type { Example } from "../../data/collate.js";
import type { PreTrainedTokenizer } from "../../tokenizers/index.js";
import { CausalLMModule, DataLoader, Trainer, tokenizeDataset, type ForwardModel, type Metrics } from "../../train/index.js";
import { UsageError } from "../command.js";
import { padTokenId } from "./classifier.js";

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

export function tokenizeLm(tokenizer: PreTrainedTokenizer, rows: JsonRecord[], maxLength: number, columns: LmColumns): Promise<Example[]> {
  return tokenizeDataset(tokenizer, rows, { task: "causal-lm", maxLength, ...columns });
}

/** loss and ppl over every labelled token of `examples`. */
export async function evaluateLm(model: ForwardModel, tokenizer: PreTrainedTokenizer, examples: Example[], batchSize: number): Promise<Metrics> {
  if (examples.length === 0) throw new Error("no rows to evaluate (every row was empty after tokenization)");
  const loader = new DataLoader(examples, { batchSize, padTokenId: padTokenId(tokenizer), seed: 0 });
  const [m] = await new Trainer({ enableProgressBar: false, logger: false }).test(new CausalLMModule(model), loader);
  return { loss: m.test_loss, ppl: m.test_ppl, rows: examples.length };
}
