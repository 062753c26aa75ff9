// transformers' resize_token_embeddings: after words or special tokens are added to a tokenizer, the model's token
// embeddings (and an LM head's output rows and bias, tied or not) get as many rows as the tokenizer has ids.
// New rows start at the mean of the old ones, as transformers' default `mean_resizing` does (it samples around
// that mean with 1e-9 times the rows' covariance, the same to about five digits): a new row at the mean keeps the
// LM's next-token distribution where it was (Hewitt 2021, "Initializing New Word Embeddings for Pretrained
// Language Models"), where a random row can dominate the softmax.
import type { Embedding, Module } from "../nn/index.js";
import { Tensor } from "../tensor/index.js";
import type { PreTrainedModel } from "./pretrained.js";

export interface ResizeOptions {
  /** Rounds the new size up to a multiple of this (transformers' pad_to_multiple_of), for GEMM-friendly shapes. */
  padToMultipleOf?: number;
}

/** Resizes `model`'s token embeddings to `numTokens` rows (rounded up by padToMultipleOf): rows past the old
 *  size start at the old rows' mean, rows past the new size are dropped; an LM head's projection and bias follow,
 *  tying is kept, and the config's vocab_size says the new size. Returns the embedding. */
export function resizeTokenEmbeddings(model: PreTrainedModel, numTokens: number, opts: ResizeOptions = {}): Embedding {
  const multiple = opts.padToMultipleOf ?? 1;
  if (!Number.isInteger(multiple) || multiple < 1) throw new RangeError(`padToMultipleOf must be a positive integer, got ${multiple}`);
  if (!Number.isInteger(numTokens) || numTokens < 1) throw new RangeError(`the new vocabulary size must be a positive integer, got ${numTokens}`);
  const size = Math.ceil(numTokens / multiple) * multiple;
  const embedding = model.getInputEmbeddings();
  if (embedding.paddingIdx !== undefined && embedding.paddingIdx >= size)
    throw new RangeError(`cannot resize the embeddings to ${size} rows: the padding id ${embedding.paddingIdx} would be dropped`);
  const head = model.getOutputEmbeddings();
  const old = embedding.weight;
  if (old.shape[0] === size) return embedding;
  const resized = resizedRows(old, size);
  replaceEverywhere(model, old, resized);
  if (head && head.weight !== resized) replaceEverywhere(model, head.weight, resizedRows(head.weight, size));
  if (head?.bias) replaceEverywhere(model, head.bias, resizedRows(head.bias, size));
  model.config.vocabSize = size;
  return model.getInputEmbeddings();
}

/** The first `size` rows of `t` (a matrix, or a vector of one value a row), new rows at the old rows' mean. */
function resizedRows(t: Tensor, size: number): Tensor {
  if (t.dtype !== "float32") throw new TypeError(`resizeTokenEmbeddings: a ${t.dtype} weight cannot be resized; resize before converting the weights`);
  const [rows, width = 1] = t.shape as [number, number?];
  const src = t.data as Float32Array;
  const out = new Float32Array(size * width);
  out.set(src.subarray(0, Math.min(rows, size) * width));
  if (size > rows) {
    const mean = new Float64Array(width);
    for (let r = 0; r < rows; r++) for (let j = 0; j < width; j++) mean[j] += src[r * width + j]!;
    for (let r = rows; r < size; r++) for (let j = 0; j < width; j++) out[r * width + j] = mean[j]! / rows;
  }
  const resized = new Tensor(out, t.shape.length === 1 ? [size] : [size, width]);
  resized.requiresGrad = t.requiresGrad;
  return resized;
}

/** Puts `now` in place of `old` in every module that holds it: tied weights (an LM head's projection and the
 *  embeddings) and shared biases (BERT's, RoBERTa's decoder bias) stay one tensor. */
function replaceEverywhere(model: Module, old: Tensor, now: Tensor): void {
  for (const [, m] of model.namedModules())
    for (const [name, p] of m.namedParameters()) if (!name.includes(".") && p === old) m.setParameter(name, now);
}
