// Causal-LM data and scores: records tokenized for next-token training, and loss / perplexity per token.
import type { JsonRecord } from "../../data/index.js";
import type { Example } from "../../data/collate.js";
import type { PreTrainedTokenizer } from "../../tokenizers/index.js";
import { CausalLMModule, DataLoader, Trainer, tokenizeDataset, type ForwardModel, type Metrics } from "../../train/index.js";
import { padTokenId } from "./classifier.js";

export interface LmColumns {
  textColumn?: string;
  promptColumn?: string;
  completionColumn?: string;
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
