// Rotary position embeddings as transformers' Llama computes them: inv_freq = 1 / theta^(2i/d), the same
// frequencies for both halves of the rotated dims, rotate_half(x) = cat(-x2, x1), cos/sin tables in float32.
// d is the rotary width: the whole head, or (Phi-3's partial_rotary_factor) its first d dims, the rest passing
// through unrotated.
import type { FloatArray } from "../../backend/backend.js";
import { backendFor } from "../../backend/index.js";
import { Tensor, result } from "../../tensor/index.js";
import { emptyLike } from "../../tensor/tensor.js";
import type { RopeScaling } from "./config.js";

const f32 = Math.fround;

/** inv_freq [rotaryDim / 2], rounded through float32 at each step as torch computes it. */
export function ropeInverseFrequencies(rotaryDim: number, theta: number, scaling: RopeScaling | null): Float32Array {
  const half = rotaryDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f32(1 / f32(Math.pow(theta, f32((2 * i) / rotaryDim))));
  if (scaling?.type === "linear") for (let i = 0; i < half; i++) inv[i] = f32(inv[i] / scaling.factor);
  if (scaling?.type === "llama3") applyLlama3Scaling(inv, scaling);
  return inv;
}

function applyLlama3Scaling(inv: Float32Array, s: Extract<RopeScaling, { type: "llama3" }>): void {
  const lowFreqWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  for (let i = 0; i < inv.length; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen > lowFreqWavelen) inv[i] = f32(inv[i] / s.factor);
    else if (wavelen >= highFreqWavelen) {
      const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      inv[i] = f32((1 - smooth) * (inv[i] / s.factor) + smooth * inv[i]);
    }
  }
}

/** cos and sin of position * inv_freq for each (row, position), [rows, len, rotaryDim]; rows are batch
 *  entries when positions differ per sequence (left-padded generation), else 1. */
export interface RopeTable {
  cos: Float32Array;
  sin: Float32Array;
  rows: number;
  len: number;
  rotaryDim: number;
}

export function ropeTable(invFreq: Float32Array, positions: ArrayLike<number>, rows: number, len: number): RopeTable {
  const half = invFreq.length, rotaryDim = 2 * half;
  const cos = new Float32Array(rows * len * rotaryDim), sin = new Float32Array(rows * len * rotaryDim);
  for (let p = 0; p < rows * len; p++) {
    const pos = positions[p];
    for (let i = 0; i < half; i++) {
      const angle = f32(invFreq[i] * pos);
      const c = f32(Math.cos(angle)), s = f32(Math.sin(angle));
      const o = p * rotaryDim + i;
      cos[o] = c; cos[o + half] = c;
      sin[o] = s; sin[o + half] = s;
    }
  }
  return { cos, sin, rows, len, rotaryDim };
}

/** x [batch, heads, len, headDim] rotated by its positions' angles: x·cos + rotate_half(x)·sin on the first
 *  rotaryDim dims of each head, the others copied. Rotation is orthogonal, so the gradient is the rotation by the
 *  opposite angle. */
export function applyRope(x: Tensor, t: RopeTable): Tensor {
  const [batch, heads, len, headDim] = x.shape;
  if (x.ndim !== 4 || len !== t.len || headDim < t.rotaryDim || (t.rows !== 1 && t.rows !== batch))
    throw new RangeError(`rope: input [${x.shape}] does not match a table of ${t.rows} x ${t.len} positions x ${t.rotaryDim}`);
  const X = x.f, out = emptyLike(X, x.numel);
  const rotate = (src: FloatArray, into: FloatArray, sign: 1 | -1) =>
    backendFor(src, into).rope(src, into, t.cos, t.sin, batch, heads, len, headDim, t.rotaryDim, t.rows, sign);
  rotate(X, out, 1);
  return result(out, x.shape, "rope", [x], (g) => {
    const gx = emptyLike(g, g.length);
    rotate(g, gx, -1);
    return [gx];
  });
}
