// Multi-head scaled dot-product attention as the HF eager path computes it (q·kᵀ, scale, additive mask,
// softmax, dropout, ·v), on the fused attention op: encoders hand it their projections as they are, decoders
// their [batch, heads, seq, dim] heads.
import type { FloatArray } from "../backend/index.js";
import {
  Tensor, add, cat, constant, div, dropout, matmul, mul, permute, reshape, scale, scaledDotProductAttention, slice, softmax, tanh,
} from "../tensor/index.js";
import { checkLayerPast, pastLength } from "./kv-cache.js";
import type { LayerPast } from "./outputs.js";

/** torch.finfo(torch.float32).min, the value HF writes at masked positions. */
export const FLOAT32_MIN = -3.4028234663852886e38;

/** Added to the scores: [batch, rows, keys], broadcast over heads, and over queries when rows is 1. */
export interface AdditiveMask {
  data: FloatArray;
  batch: number;
  rows: number;
  keys: number;
}

/** From a 0/1 padding mask [batch, keys]. "fill" is masked_fill(mask == 0, min) (DistilBERT); "add" is
 *  (1 - mask) * min (BERT). Both give the same probabilities for 0/1 masks. */
export function paddingMask(mask: Tensor, style: "fill" | "add"): AdditiveMask {
  const [batch, keys] = mask.shape;
  const data = new Float32Array(batch * keys);
  const m = mask.data;
  for (let i = 0; i < data.length; i++) data[i] = style === "fill" ? (m[i] === 0 ? FLOAT32_MIN : 0) : (1 - m[i]) * FLOAT32_MIN;
  return { data, batch, rows: 1, keys };
}

/** [batch, seq, heads * headDim] -> [batch, heads, seq, headDim]. */
export function splitHeads(x: Tensor, heads: number): Tensor {
  const [b, s, hidden] = x.shape;
  return permute(reshape(x, [b, s, heads, hidden / heads]), [0, 2, 1, 3]);
}

/** [batch, heads, seq, headDim] -> [batch, seq, heads * headDim]. */
export function mergeHeads(x: Tensor): Tensor {
  const [b, h, s, d] = x.shape;
  return reshape(permute(x, [0, 2, 1, 3]), [b, s, h * d]);
}

export interface AttendOptions {
  /** Scores are divided by this (sqrt(headDim) for BERT; 1 when the query was scaled beforehand). */
  divisor: number;
  dropoutP: number;
  training: boolean;
  /** Gemma 2's attn_logit_softcapping: the scaled scores become cap·tanh(scores / cap) before the mask. */
  softcap?: number | null;
  /** The rows of k and v that hold keys (a growable cache's length, see ./kv-cache.ts); default all. */
  keys?: number;
}

/** q [b, h, L, d], k/v [b, h, S, d] -> [b, h, L, d]. */
export function attend(q: Tensor, k: Tensor, v: Tensor, mask: AdditiveMask | null, opts: AttendOptions): Tensor {
  const keys = opts.keys ?? k.shape[2];
  const checked = checkMask(mask, q, keys);
  if (opts.softcap) {
    // The eager path multiplies whole tensors, so it takes the keys in use as tensors of their own.
    if (keys !== k.shape[2]) [k, v] = [slice(k, 2, 0, keys), slice(v, 2, 0, keys)];
    return cappedAttention(q, k, v, checked, opts.softcap, opts);
  }
  return scaledDotProductAttention(q, k, v, { layout: "bhsd", scale: 1 / opts.divisor, mask: checked, keys, dropoutP: opts.dropoutP,
    training: opts.training });
}

/** cap·tanh(x / cap), as transformers caps Gemma 2's attention scores and final logits. */
export function softcap(x: Tensor, cap: number): Tensor {
  return mul(tanh(div(x, cap)), cap);
}

/** The eager path, op by op: the fused kernel has no step between scaling and masking. */
function cappedAttention(q: Tensor, k: Tensor, v: Tensor, mask: { data: FloatArray; rows: number } | null, cap: number, opts: AttendOptions): Tensor {
  let scores = softcap(scale(matmul(q, k, { transB: true }), 1 / opts.divisor), cap);
  if (mask) scores = add(scores, constant(mask.data, [q.shape[0], 1, mask.rows, k.shape[2]]));
  return matmul(dropout(softmax(scores, -1), opts.dropoutP, opts.training), v);
}

function checkMask(mask: AdditiveMask | null, q: Tensor, keys: number): { data: FloatArray; rows: number } | null {
  if (!mask) return null;
  const queries = q.shape[q.ndim === 4 ? 2 : 1];
  if (mask.batch !== q.shape[0] || mask.keys !== keys || (mask.rows !== 1 && mask.rows !== queries))
    throw new RangeError(`attention mask [${mask.batch}, ${mask.rows}, ${mask.keys}] does not fit ${q.shape[0]} x ${queries} queries x ${keys} keys`);
  return { data: mask.data, rows: mask.rows };
}

export interface EncoderAttentionOptions {
  heads: number;
  /** Keys/values prepended to this layer's (a cache or prefix tuning's virtual tokens). */
  past?: LayerPast;
  mask: AdditiveMask | null;
  dropoutP: number;
  training: boolean;
}

/** Bidirectional self-attention on projected q, k, v [batch, seq, hidden] -> context [batch, seq, hidden],
 *  read and written in that layout. Scaling q first (DistilBERT) or the scores (BERT) is one multiply by
 *  1/sqrt(headDim) on the scores here: exact for the power-of-two head sizes of the released models, and
 *  within an ulp otherwise. */
export function encoderSelfAttention(q: Tensor, k: Tensor, v: Tensor, opts: EncoderAttentionOptions): Tensor {
  const heads = opts.heads;
  const sqrtD = Math.fround(Math.sqrt(q.shape[2] / heads));
  if (opts.past) {
    const past = opts.past, rows = pastLength(past);
    checkLayerPast(past, q.shape[0], heads, q.shape[2] / heads);
    const inUse = (t: Tensor) => mergeHeads(rows === t.shape[2] ? t : slice(t, 2, 0, rows));
    k = cat([inUse(past.key), k], 1);
    v = cat([inUse(past.value), v], 1);
  }
  return scaledDotProductAttention(q, k, v, { layout: "bshd", heads, scale: 1 / sqrtD, mask: checkMask(opts.mask, q, k.shape[1]),
    dropoutP: opts.dropoutP, training: opts.training });
}

