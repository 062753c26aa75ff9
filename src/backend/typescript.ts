// The pure-TypeScript backend: the numerical reference the native kernels are tested against, and the
// fallback where the addon cannot be built. It works on Float32Array and Float64Array alike, so
// gradient checks can run in float64.
import type { Backend, BatchedGemmArgs, Bf16GemmArgs, FloatArray, GemmArgs } from "./backend.js";
import { roundToBf16, unpackBf16 } from "./bf16.js";
import * as fused from "./typescript-fused.js";

function gemm(g: GemmArgs): void {
  const { transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc } = g;
  // Element (i,p) of op(A) and (p,j) of op(B) as strides, so one loop nest serves all four layouts.
  const aRow = transA ? 1 : lda, aCol = transA ? lda : 1;
  const bRow = transB ? 1 : ldb, bCol = transB ? ldb : 1;
  const acc = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    acc.fill(0);
    for (let p = 0; p < k; p++) {
      const av = a[aOffset + i * aRow + p * aCol];
      if (av === 0) continue;
      const bBase = bOffset + p * bRow;
      for (let j = 0; j < n; j++) acc[j] += av * b[bBase + j * bCol];
    }
    const cBase = cOffset + i * ldc;
    for (let j = 0; j < n; j++) c[cBase + j] = alpha * acc[j] + (beta === 0 ? 0 : beta * c[cBase + j]);
  }
}

function gemmBatched(g: BatchedGemmArgs): void {
  for (let t = 0; t < g.batch; t++) {
    gemm({ ...g, aOffset: g.aOffset + t * g.strideA, bOffset: g.bOffset + t * g.strideB, cOffset: g.cOffset + t * g.strideC });
  }
}

function gemmBf16(g: Bf16GemmArgs): void {
  const { transW, m, alpha, a, aOffset, lda, w, beta, c, cOffset, ldc, bias } = g;
  const inF = transW ? w.rows : w.cols, outF = transW ? w.cols : w.rows;
  // Widened once per call: the reference trades memory for plain loops.
  const W = unpackBf16(w, transW); // [outF, inF]
  const x = new Float64Array(inF);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < inF; p++) x[p] = roundToBf16(a[aOffset + i * lda + p]);
    for (let j = 0; j < outF; j++) {
      let acc = 0;
      for (let p = 0, o = j * inF; p < inF; p++) acc += x[p] * W[o + p];
      const ci = cOffset + i * ldc + j;
      c[ci] = alpha * acc + (bias ? bias[j] : 0) + (beta === 0 ? 0 : beta * c[ci]);
    }
  }
}

function softmaxForward(x: FloatArray, y: FloatArray, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) if (x[o + j] > max) max = x[o + j];
    let sum = 0;
    for (let j = 0; j < cols; j++) { const e = Math.exp(x[o + j] - max); y[o + j] = e; sum += e; }
    const inv = 1 / sum;
    for (let j = 0; j < cols; j++) y[o + j] *= inv;
  }
}

function softmaxBackward(y: FloatArray, dy: FloatArray, dx: FloatArray, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += dy[o + j] * y[o + j];
    for (let j = 0; j < cols; j++) dx[o + j] = y[o + j] * (dy[o + j] - dot);
  }
}

function layerNormForward(x: FloatArray, w: FloatArray | null, b: FloatArray | null, y: FloatArray,
  mean: FloatArray, rstd: FloatArray, rows: number, cols: number, eps: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += x[o + j];
    const mu = s / cols;
    let v = 0;
    for (let j = 0; j < cols; j++) { const d = x[o + j] - mu; v += d * d; }
    const rs = 1 / Math.sqrt(v / cols + eps);
    mean[r] = mu; rstd[r] = rs;
    for (let j = 0; j < cols; j++) {
      const xh = (x[o + j] - mu) * rs;
      y[o + j] = (w ? xh * w[j] : xh) + (b ? b[j] : 0);
    }
  }
}

function addLayerNormForward(a: FloatArray, b: FloatArray, w: FloatArray | null, bias: FloatArray | null, y: FloatArray,
  sum: FloatArray | null, mean: FloatArray, rstd: FloatArray, rows: number, cols: number, eps: number): void {
  const s = sum ?? (y instanceof Float64Array ? new Float64Array(rows * cols) : new Float32Array(rows * cols));
  fused.add(a, b, s, rows * cols);
  layerNormForward(s, w, bias, y, mean, rstd, rows, cols, eps);
}

function layerNormBackward(dy: FloatArray, x: FloatArray, w: FloatArray | null, mean: FloatArray, rstd: FloatArray,
  dx: FloatArray | null, dw: FloatArray | null, db: FloatArray | null, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols, mu = mean[r], rs = rstd[r];
    let sumG = 0, sumGX = 0;
    for (let j = 0; j < cols; j++) {
      const xh = (x[o + j] - mu) * rs;
      const g = dy[o + j] * (w ? w[j] : 1);
      sumG += g; sumGX += g * xh;
      if (dw) dw[j] += dy[o + j] * xh;
      if (db) db[j] += dy[o + j];
    }
    if (!dx) continue;
    for (let j = 0; j < cols; j++) {
      const xh = (x[o + j] - mu) * rs;
      const g = dy[o + j] * (w ? w[j] : 1);
      dx[o + j] = rs * (g - (sumG + xh * sumGX) / cols);
    }
  }
}

// erf via Abramowitz-Stegun 7.1.26 is only 1e-7 accurate; this series/continued-fraction pair is
// accurate to double rounding, which the float64 gradient checks need.
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: converges fast for |x| < 2.5.
    let term = x, sum = x;
    const x2 = x * x;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction (Lentz) for the tails.
  const x2 = ax * ax;
  let f = ax, c = ax, d = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    d = ax + an * d; d = 1 / d;
    c = ax + an / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-x2) / (f * Math.sqrt(Math.PI));
  return x > 0 ? 1 - erfc : erfc - 1;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2 = 1 / Math.SQRT2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

function geluForward(x: FloatArray, y: FloatArray, n: number, approximate: boolean): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    y[i] = approximate
      ? 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)))
      : 0.5 * v * (1 + erf(v * INV_SQRT_2));
  }
}

/** The Backend's stridedCopy for any typed array (permute also copies int32 tensors with it). The innermost
 *  axis runs as a tight loop; the rest advance like an odometer. */
export function stridedCopy<T extends FloatArray | Int32Array>(src: T, dst: T, shape: ArrayLike<number>,
  strides: ArrayLike<number>): void {
  const nd = shape.length, inner = nd ? shape[nd - 1] : 1, innerStride = nd ? strides[nd - 1] : 1;
  const outer = inner ? dst.length / inner : 0;
  const idx = new Array<number>(Math.max(0, nd - 1)).fill(0);
  let off = 0, o = 0;
  for (let t = 0; t < outer; t++) {
    for (let j = 0; j < inner; j++) dst[o++] = src[off + j * innerStride];
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      off += strides[d];
      if (idx[d] < shape[d]) break;
      off -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

function rope(x: FloatArray, out: FloatArray, cos: Float32Array, sin: Float32Array, batch: number, heads: number,
  len: number, headDim: number, rotaryDim: number, tableRows: number, sign: 1 | -1): void {
  const half = rotaryDim / 2;
  for (let b = 0; b < batch; b++) {
    const tableRow = tableRows === 1 ? 0 : b;
    for (let h = 0; h < heads; h++) {
      for (let p = 0; p < len; p++) {
        const o = ((b * heads + h) * len + p) * headDim, c = (tableRow * len + p) * rotaryDim;
        for (let i = 0; i < half; i++) {
          const x1 = x[o + i], x2 = x[o + i + half];
          out[o + i] = x1 * cos[c + i] - sign * x2 * sin[c + i];
          out[o + i + half] = x2 * cos[c + i + half] + sign * x1 * sin[c + i + half];
        }
        for (let i = rotaryDim; i < headDim; i++) out[o + i] = x[o + i];
      }
    }
  }
}

function rmsNormForward(x: FloatArray, w: FloatArray | null, y: FloatArray, rstd: FloatArray, rows: number, cols: number,
  eps: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let ss = 0;
    for (let j = 0; j < cols; j++) ss += x[o + j] * x[o + j];
    const rs = 1 / Math.sqrt(ss / cols + eps);
    rstd[r] = rs;
    for (let j = 0; j < cols; j++) y[o + j] = x[o + j] * rs * (w ? w[j] : 1);
  }
}

function rmsNormBackward(dy: FloatArray, x: FloatArray, w: FloatArray | null, rstd: FloatArray, dx: FloatArray | null,
  dw: FloatArray | null, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols, rs = rstd[r];
    let dot = 0;
    for (let j = 0; j < cols; j++) {
      dot += dy[o + j] * (w ? w[j] : 1) * x[o + j];
      if (dw) dw[j] += dy[o + j] * x[o + j] * rs;
    }
    if (!dx) continue;
    const c = (dot * rs * rs * rs) / cols;
    for (let j = 0; j < cols; j++) dx[o + j] = dy[o + j] * (w ? w[j] : 1) * rs - x[o + j] * c;
  }
}

function siluForward(x: FloatArray, y: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) y[i] = x[i] / (1 + Math.exp(-x[i]));
}

function siluBackward(x: FloatArray, dy: FloatArray, dx: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) {
    const s = 1 / (1 + Math.exp(-x[i]));
    dx[i] = dy[i] * s * (1 + x[i] * (1 - s));
  }
}

function biasGeluForward(x: FloatArray, bias: FloatArray, y: FloatArray, rows: number, cols: number, approximate: boolean): void {
  fused.addRows(x, bias, rows, cols);
  geluForward(x, y, rows * cols, approximate);
}

function geluBackward(x: FloatArray, dy: FloatArray, dx: FloatArray, n: number, approximate: boolean): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    let d: number;
    if (approximate) {
      const u = SQRT_2_OVER_PI * (v + 0.044715 * v * v * v);
      const t = Math.tanh(u);
      d = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * v * v);
    } else {
      d = 0.5 * (1 + erf(v * INV_SQRT_2)) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v);
    }
    dx[i] = dy[i] * d;
  }
}

function adamwStep(p: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray, n: number, lr: number, beta1: number,
  beta2: number, eps: number, weightDecay: number, step: number): void {
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
  const stepSize = lr / bc1;
  const decay = 1 - lr * weightDecay;
  // Float32 arrays round each stored intermediate, as torch does per in-place op.
  const f32 = p instanceof Float32Array;
  const r = f32 ? Math.fround : (z: number) => z;
  for (let i = 0; i < n; i++) {
    const gi = g[i];
    p[i] = r(p[i] * decay);
    m[i] = r(m[i] + (gi - m[i]) * (1 - beta1));
    v[i] = r(r(v[i] * beta2) + r(r(gi * gi) * (1 - beta2)));
    const denom = r(r(Math.sqrt(v[i]) / bc2Sqrt) + eps);
    p[i] = r(p[i] - stepSize * r(m[i] / denom));
  }
}

function crossEntropyForward(logits: FloatArray, targets: Int32Array, rows: number, cols: number, ignoreIndex: number,
  losses: FloatArray, lse: FloatArray): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) if (logits[o + j] > max) max = logits[o + j];
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(logits[o + j] - max);
    const l = max + Math.log(s);
    lse[r] = l;
    const t = targets[r];
    if (t === ignoreIndex) { losses[r] = 0; continue; }
    if (t < 0 || t >= cols) throw new RangeError(`cross-entropy target ${t} out of range [0, ${cols}) at row ${r}`);
    losses[r] = l - logits[o + t];
  }
}

function crossEntropyBackward(logits: FloatArray, targets: Int32Array, lse: FloatArray, rowScale: FloatArray,
  rows: number, cols: number, ignoreIndex: number, d: FloatArray): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols, t = targets[r];
    if (t === ignoreIndex) { d.fill(0, o, o + cols); continue; }
    const s = rowScale[r], l = lse[r];
    for (let j = 0; j < cols; j++) d[o + j] = s * Math.exp(logits[o + j] - l);
    d[o + t] -= s;
  }
}

export const typescriptBackend: Backend = {
  name: "typescript",
  blas: "none (TypeScript loops)",
  threads: () => 1,
  setThreads: () => {},
  gemm,
  gemmBatched,
  gemmBf16,
  softmaxForward,
  softmaxBackward,
  layerNormForward,
  layerNormBackward,
  addLayerNormForward,
  geluForward,
  biasGeluForward,
  geluBackward,
  siluForward,
  siluBackward,
  stridedCopy,
  rope,
  rmsNormForward,
  rmsNormBackward,
  adamwStep,
  crossEntropyForward,
  crossEntropyBackward,
  attentionForward: (a, out) => fused.attentionForward(gemm, a, out),
  attentionBackward: (a, dout, dq, dk, dv) => fused.attentionBackward(gemm, a, dout, dq, dk, dv),
  dropout: fused.dropout,
  add: fused.add,
  mul: fused.mul,
  trimHeap: () => {},
  sumRows: fused.sumRows,
  addRows: fused.addRows,
};
