// Masked-LM inputs as transformers' DataCollatorForLanguageModeling makes them: each token is chosen with
// probability mlmProbability (special tokens and padding never); a chosen token gets the loss (its label is
// the original id, every other label is -100) and is replaced by [MASK] with probability 0.8, else by a
// uniformly random id with probability 0.5 (10% overall), else left unchanged (10%).
import { IGNORE_INDEX } from "../data/collate.js";
import type { Generator } from "../tensor/index.js";

export interface MaskingOptions {
  maskTokenId: number;
  /** Random replacements are drawn from [0, vocabSize), as HF draws from len(tokenizer). */
  vocabSize: number;
  /** Ids that are never chosen: the special tokens (padding included). */
  specialIds: ReadonlySet<number>;
  /** Default 0.15. */
  mlmProbability?: number;
}

export interface MaskedTokens {
  inputIds: Int32Array;
  labels: Int32Array;
}

export function maskTokens(ids: ArrayLike<number>, opts: MaskingOptions, gen: Generator): MaskedTokens {
  const p = opts.mlmProbability ?? 0.15;
  const inputIds = Int32Array.from(ids);
  const labels = new Int32Array(inputIds.length).fill(IGNORE_INDEX);
  for (let i = 0; i < inputIds.length; i++) {
    // The collator draws three full Bernoulli masks; drawing the second and third only for chosen tokens gives
    // the same distribution.
    const chosen = gen.random() < p && !opts.specialIds.has(inputIds[i]);
    if (!chosen) continue;
    labels[i] = inputIds[i];
    if (gen.random() < 0.8) inputIds[i] = opts.maskTokenId;
    else if (gen.random() < 0.5) inputIds[i] = gen.int(opts.vocabSize);
  }
  return { inputIds, labels };
}
