// Multi-head scaled dot-product attention as the HF eager path computes it: batched q·kᵀ (k read
// transposed by the GEMM, never copied), scale, additive mask and softmax in one fused op, then ·v.
// Everything attention-specific sits in attend(), so a fused kernel can replace it in one place.
import { backendFor, type FloatArray } from "../backend/index.js";
import { Tensor, cat, div, dropout, matmul, permute, reshape, result } from "../tensor/index.js";
import { floatLike } from "../tensor/tensor.js";
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

/** softmax(scores / divisor + mask) over the last dim of scores [batch, heads, queries, keys]. */
function maskedSoftmax(scores: Tensor, mask: AdditiveMask | null, divisor: number): Tensor {
  const [batch, heads, queries, keys] = scores.shape;
  if (mask && (mask.batch !== batch || mask.keys !== keys || (mask.rows !== 1 && mask.rows !== queries)))
    throw new RangeError(`attention mask [${mask.batch}, ${mask.rows}, ${mask.keys}] does not fit scores [${scores.shape}]`);
  const S = scores.f, Y = floatLike(S, S.length);
  // Rounded after the division and again after the addition (float32 stores), as torch does.
  const round = Y instanceof Float32Array ? Math.fround : (v: number) => v;
  if (mask) {
    const M = mask.data, rowStride = mask.rows === 1 ? 0 : keys;
    for (let b = 0, o = 0; b < batch; b++) for (let h = 0; h < heads; h++) for (let q = 0; q < queries; q++, o += keys) {
      const mo = b * mask.rows * keys + q * rowStride;
      for (let j = 0; j < keys; j++) Y[o + j] = round(S[o + j] / divisor) + M[mo + j];
    }
  } else {
    for (let i = 0; i < S.length; i++) Y[i] = S[i] / divisor;
  }
  const rows = batch * heads * queries;
  backendFor(Y).softmaxForward(Y, Y, rows, keys);
  return result(Y, scores.shape, "maskedSoftmax", [scores], (g) => {
    const gx = floatLike(g, g.length);
    backendFor(Y, g).softmaxBackward(Y, g, gx, rows, keys);
    if (divisor !== 1) for (let i = 0; i < gx.length; i++) gx[i] /= divisor;
    return [gx];
  });
}

export interface AttendOptions {
  /** Scores are divided by this (sqrt(headDim) for BERT; 1 when the query was scaled beforehand). */
  divisor: number;
  dropoutP: number;
  training: boolean;
}

/** q [b, h, L, d], k/v [b, h, S, d] -> [b, h, L, d]. */
export function attend(q: Tensor, k: Tensor, v: Tensor, mask: AdditiveMask | null, opts: AttendOptions): Tensor {
  const scores = matmul(q, k, { transB: true });
  const probs = dropout(maskedSoftmax(scores, mask, opts.divisor), opts.dropoutP, opts.training);
  return matmul(probs, v);
}

export interface EncoderAttentionOptions {
  heads: number;
  /** Keys/values prepended to this layer's (a cache or prefix tuning's virtual tokens). */
  past?: LayerPast;
  mask: AdditiveMask | null;
  /** DistilBERT divides q by sqrt(headDim) before q·kᵀ; BERT divides the scores. */
  scaleQuery: boolean;
  dropoutP: number;
  training: boolean;
}

/** Bidirectional self-attention on projected q, k, v [batch, seq, hidden] -> context [batch, seq, hidden]. */
export function encoderSelfAttention(q: Tensor, k: Tensor, v: Tensor, opts: EncoderAttentionOptions): Tensor {
  const heads = opts.heads;
  const sqrtD = Math.fround(Math.sqrt(q.shape[2] / heads));
  let qh = splitHeads(q, heads), kh = splitHeads(k, heads), vh = splitHeads(v, heads);
  if (opts.scaleQuery) qh = div(qh, sqrtD);
  if (opts.past) {
    checkPast(opts.past, kh);
    kh = cat([opts.past.key, kh], 2);
    vh = cat([opts.past.value, vh], 2);
  }
  const ctx = attend(qh, kh, vh, opts.mask, { divisor: opts.scaleQuery ? 1 : sqrtD, dropoutP: opts.dropoutP, training: opts.training });
  return mergeHeads(ctx);
}

function checkPast(past: LayerPast, k: Tensor): void {
  const [b, h, , d] = k.shape;
  for (const [name, t] of [["key", past.key], ["value", past.value]] as const) {
    if (t.ndim !== 4 || t.shape[0] !== b || t.shape[1] !== h || t.shape[3] !== d)
      throw new RangeError(`pastKeyValues ${name} has shape [${t.shape}]; expected [${b}, ${h}, pastLength, ${d}]`);
  }
  if (past.key.shape[2] !== past.value.shape[2]) throw new RangeError(`pastKeyValues key and value lengths differ: [${past.key.shape}] vs [${past.value.shape}]`);
}
