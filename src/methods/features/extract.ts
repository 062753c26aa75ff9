// The feature-based approach's first half: run the frozen model once over the texts and keep one
// vector per text. A classifier (LogisticRegression, MLPClassifier) is then trained on the vectors.
import type { PreTrainedModel } from "../../models/pretrained.js";
import { familyOfModel } from "../../models/registry.js";
import type { PreTrainedTokenizer } from "../../tokenizers/index.js";
import { Tensor, noGrad } from "../../tensor/index.js";
import { countTruncated } from "../../train/tokenize-dataset.js";
import { warn } from "../../warnings/index.js";
import { cachePath, featureCacheKey, readCachedFeatures, writeCachedFeatures } from "./cache.js";
import { POOLINGS, poolInto, type Pooling } from "./pooling.js";

export interface ExtractFeaturesOptions {
  /** Default: defaultPooling(model). */
  pooling?: Pooling;
  /** Sequences per forward pass. Default 32. */
  batchSize?: number;
  /** Truncate to this many tokens (special tokens included). Default: the tokenizer's modelMaxLength
   *  when it has one, else no truncation. */
  maxLength?: number;
  /** Cache the features here; a later call with the same model weights, token ids and pooling reads
   *  them back instead of running the model. */
  cacheDir?: string;
  /** Called after each batch with the number of texts done. */
  onProgress?: (done: number, total: number) => void;
  /** Receives the one warning about texts cut to maxLength; default the library's warning handler (setWarningHandler). */
  onWarning?: (message: string) => void;
}

/** A decoder's last token is the only one that has seen the whole text; an encoder's first ([CLS]) is trained
 *  to summarise it. */
export function defaultPooling(model: PreTrainedModel): Pooling {
  return familyOfModel(model).kind === "decoder" ? "last" : "cls";
}

/** [N, hidden] float32 features, row i for texts[i]. The model runs in eval mode without autograd; every
 *  module's training flag is restored afterwards. */
export async function extractFeatures(
  model: PreTrainedModel, tokenizer: PreTrainedTokenizer, texts: string[], opts: ExtractFeaturesOptions = {},
): Promise<Tensor> {
  const pooling = opts.pooling ?? defaultPooling(model);
  if (!POOLINGS.includes(pooling)) throw new Error(`unknown pooling "${pooling}" (expected ${POOLINGS.join(", ")})`);
  const batchSize = opts.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const maxLength = opts.maxLength ?? (Number.isFinite(tokenizer.modelMaxLength) ? tokenizer.modelMaxLength : undefined);
  const { inputIds } = await tokenizer.call(texts, { truncation: maxLength !== undefined, maxLength, padding: false, returnTokenTypeIds: false });
  const truncated = maxLength === undefined ? 0 : await countTruncated(tokenizer, texts, undefined, inputIds, maxLength);
  if (truncated > 0) {
    (opts.onWarning ?? ((m: string) => warn(m, "FINETUNE_TRUNCATION")))(
      `extractFeatures: truncated ${truncated} of ${texts.length} texts to maxLength ${maxLength} tokens; their features ignore the cut text`);
  }

  const cacheFile = opts.cacheDir === undefined ? undefined : cachePath(opts.cacheDir, featureCacheKey(model, pooling, inputIds));
  if (cacheFile) {
    const cached = await readCachedFeatures(cacheFile, texts.length);
    if (cached) return cached;
  }
  const features = runModel(model, inputIds, padIdOf(tokenizer), pooling, batchSize, opts.onProgress);
  if (cacheFile) await writeCachedFeatures(cacheFile, opts.cacheDir!, features, pooling);
  return features;
}

function runModel(
  model: PreTrainedModel, inputIds: number[][], padId: number, pooling: Pooling, batchSize: number,
  onProgress?: (done: number, total: number) => void,
): Tensor {
  const n = inputIds.length;
  // Longest first: batches of similar lengths waste little on padding, and a sequence too long for
  // memory fails at once rather than at the end.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => inputIds[b].length - inputIds[a].length);
  let out: Float32Array | null = null;
  let dim = model.peftFacts().hiddenSize;
  const modes = [...model.namedModules()].map(([, m]) => [m, m.training] as const);
  model.eval();
  try {
    for (let start = 0; start < n; start += batchSize) {
      const rows = order.slice(start, start + batchSize);
      const { ids, mask, seq } = rightPadded(rows.map((i) => inputIds[i]), padId);
      const hidden = noGrad(() => model.forward({
        inputIds: new Tensor(ids, [rows.length, seq]),
        attentionMask: new Tensor(mask, [rows.length, seq]),
        // [CLS] pooling reads position 0 alone, which an encoder's last layer can compute by itself.
        outputLastHiddenState: pooling === "cls" ? "first" : true,
      }).lastHiddenState);
      if (!hidden) throw new Error(`${model.constructor.name}.forward() returned no lastHiddenState to extract features from`);
      dim = hidden.shape[2];
      out ??= new Float32Array(n * dim);
      poolInto(hidden, mask, pooling, out, rows.map((i) => i * dim));
      onProgress?.(Math.min(start + batchSize, n), n);
    }
  } finally {
    for (const [m, training] of modes) m.training = training;
  }
  return new Tensor(out ?? new Float32Array(0), [n, dim]);
}

/** Right padding keeps every real token at the position it has unpadded, which matters for models
 *  whose positions do not follow the attention mask (GPT-2, Llama). */
function rightPadded(rows: number[][], padId: number): { ids: Int32Array; mask: Int32Array; seq: number } {
  const seq = Math.max(1, ...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * seq).fill(padId), mask = new Int32Array(rows.length * seq);
  rows.forEach((r, b) => {
    ids.set(r, b * seq);
    mask.fill(1, b * seq, b * seq + r.length);
  });
  return { ids, mask, seq };
}

/** Padded positions are masked out, so any valid id works; GPT-2 has no pad token and uses eos, as
 *  HF's usual `tokenizer.pad_token = tokenizer.eos_token`. */
function padIdOf(tokenizer: PreTrainedTokenizer): number {
  return tokenizer.padTokenId ?? tokenizer.eosTokenId ?? 0;
}
