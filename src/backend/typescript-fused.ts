// TypeScript references for the fused kernels (native/attention.c, native/fused.c): the same arithmetic in
// plain loops, in float32 or float64 (gradient checks). The dropout hash uses only 32-bit integer ops, so
// its masks match the native ones bit for bit.
import type { AttentionArgs, DropoutSpec, FloatArray, GemmArgs } from "./backend.js";

/** Wellons' lowbias32, as ft_mix32. */
function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

export function keep(index: number, d: DropoutSpec): boolean {
  return mix32((mix32((index ^ d.seed0) >>> 0) + d.seed1) >>> 0) >= d.threshold;
}

/** The scale as the kernels see it: a float32 multiplier on float32 data. */
const scaleFor = (y: FloatArray, scale: number) => (y instanceof Float32Array ? Math.fround(scale) : scale);

export function dropout(x: FloatArray, y: FloatArray, n: number, d: DropoutSpec): void {
  const s = scaleFor(y, d.scale);
  for (let i = 0; i < n; i++) y[i] = x[i] * (keep(i, d) ? s : 0);
}

export function add(a: FloatArray, b: FloatArray, out: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
}

export function mul(a: FloatArray, b: FloatArray, out: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
}

export function sumRows(x: FloatArray, out: FloatArray, rows: number, cols: number): void {
  for (let j = 0; j < cols; j++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += x[r * cols + j];
    out[j] += s;
  }
}

export function addRows(x: FloatArray, row: FloatArray, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) x[r * cols + j] += row[j];
}

type Gemm = (g: GemmArgs) => void;

const like = (x: FloatArray, n: number): FloatArray => (x instanceof Float64Array ? new Float64Array(n) : new Float32Array(n));

/** Offset of head h of batch b in a tensor of `len` rows, and the distance between its rows. */
function headLayout(a: AttentionArgs, b: number, h: number, len: number): [number, number] {
  return a.headsInner ? [(b * len * a.heads + h) * a.dim, a.heads * a.dim] : [(b * a.heads + h) * len * a.dim, a.dim];
}

/** gemm on one head's slices: C (m x n, ldc) = alpha op(A) op(B). */
function headGemm(gemm: Gemm, transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: FloatArray, aOffset: number, lda: number, b: FloatArray, bOffset: number, ldb: number,
  c: FloatArray, cOffset: number, ldc: number): void {
  gemm({ transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta: 0, c, cOffset, ldc });
}

export function attentionForward(gemm: Gemm, a: AttentionArgs, out: FloatArray): void {
  const { queries: lq, keys: lk, dim } = a;
  // Without probs (no backward) one head's scores at a time; the native kernel blocks finer.
  const probs = a.probs ?? like(out, lq * lk);
  const dropped = a.dropout.threshold > 0 ? like(out, lq * lk) : null;
  for (let b = 0; b < a.batch; b++) for (let h = 0; h < a.heads; h++) {
    const bh = b * a.heads + h, po = a.probs ? bh * lq * lk : 0;
    const [oq, rs] = headLayout(a, b, h, lq), [ok] = headLayout(a, b, h, a.kvRows);
    headGemm(gemm, false, true, lq, lk, dim, a.scale, a.q, oq, rs, a.k, ok, rs, probs, po, lk);
    for (let i = 0; i < lq; i++) {
      const o = po + i * lk, mo = (b * a.maskRows + (a.maskRows === 1 ? 0 : i)) * lk;
      let max = -Infinity;
      for (let j = 0; j < lk; j++) {
        if (a.mask) probs[o + j] += a.mask[mo + j];
        if (probs[o + j] > max) max = probs[o + j];
      }
      let s = 0;
      for (let j = 0; j < lk; j++) s += (probs[o + j] = Math.exp(probs[o + j] - max));
      for (let j = 0; j < lk; j++) probs[o + j] /= s;
      if (dropped) dropRowTo(a, probs, o, dropped, i * lk, lk, bh * lq * lk + i * lk);
    }
    headGemm(gemm, false, false, lq, dim, lk, 1, dropped ?? probs, dropped ? 0 : po, lk, a.v, ok, rs, out, oq, rs);
  }
}

export function attentionBackward(gemm: Gemm, a: AttentionArgs, dout: FloatArray, dq: FloatArray | null,
  dk: FloatArray | null, dv: FloatArray | null): void {
  const { queries: lq, keys: lk, dim } = a, probs = a.probs;
  if (!probs) throw new Error("attentionBackward: forward kept no probs (it ran for inference only)");
  const dropping = a.dropout.threshold > 0;
  const dp = like(probs, lq * lk), dropped = dropping && dv ? like(probs, lq * lk) : null;
  for (let b = 0; b < a.batch; b++) for (let h = 0; h < a.heads; h++) {
    const bh = b * a.heads + h, po = bh * lq * lk;
    const [oq, rs] = headLayout(a, b, h, lq), [ok] = headLayout(a, b, h, lk);
    if (dv) {
      if (dropped) for (let i = 0; i < lq; i++) dropRowTo(a, probs, po + i * lk, dropped, i * lk, lk, po + i * lk);
      headGemm(gemm, true, false, lk, dim, lq, 1, dropped ?? probs, dropped ? 0 : po, lk, dout, oq, rs, dv, ok, rs);
    }
    if (!dq && !dk) continue;
    headGemm(gemm, false, true, lq, lk, dim, 1, dout, oq, rs, a.v, ok, rs, dp, 0, lk);
    for (let i = 0; i < lq; i++) {
      const o = i * lk, p = po + i * lk;
      if (dropping) dropRowTo(a, dp, o, dp, o, lk, p);
      let d = 0;
      for (let j = 0; j < lk; j++) d += dp[o + j] * probs[p + j];
      for (let j = 0; j < lk; j++) dp[o + j] = probs[p + j] * (dp[o + j] - d);
    }
    if (dq) headGemm(gemm, false, false, lq, dim, lk, a.scale, dp, 0, lk, a.k, ok, rs, dq, oq, rs);
    if (dk) headGemm(gemm, true, false, lk, dim, lq, a.scale, dp, 0, lk, a.q, oq, rs, dk, ok, rs);
  }
}

/** y[yo + j] = dropout of x[xo + j], the mask drawn for elements index + j of P. */
function dropRowTo(a: AttentionArgs, x: FloatArray, xo: number, y: FloatArray, yo: number, n: number, index: number): void {
  const s = scaleFor(y, a.dropout.scale);
  for (let j = 0; j < n; j++) y[yo + j] = x[xo + j] * (keep(index + j, a.dropout) ? s : 0);
}
