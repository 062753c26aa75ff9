// Matrix products on the backend's GEMM. Transposed operands go to GEMM as flags, never as copies, and
// backward skips the product for any operand that needs no gradient: a frozen weight costs no dW GEMM.
import type { FloatArray } from "../../backend/backend.js";
import { backendFor } from "../../backend/index.js";
import { result } from "../autograd.js";
import { Bf16Tensor, Tensor, emptyLike, floatLike } from "../tensor.js";

interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/** op(a) @ op(b). a: [...batch, m, k]; b: [k, n] (shared by every batch) or [...batch, k, n].
 *  With trans flags the last two dims of that operand are read transposed. */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false, transB = opts.transB ?? false;
  if (a.ndim < 2 || b.ndim < 2) throw new RangeError(`matmul needs 2-d or batched operands, got [${a.shape}] and [${b.shape}]`);
  const [ar, ac] = a.shape.slice(-2), [br, bc] = b.shape.slice(-2);
  const m = transA ? ac : ar, k = transA ? ar : ac;
  const kb = transB ? bc : br, n = transB ? br : bc;
  if (k !== kb) throw new RangeError(`matmul: inner dims differ: [${a.shape}]${transA ? "ᵀ" : ""} @ [${b.shape}]${transB ? "ᵀ" : ""}`);
  const batchShape = a.shape.slice(0, -2);
  const batch = batchShape.reduce((p, v) => p * v, 1);
  const sharedB = b.ndim === 2;
  if (!sharedB && (b.ndim !== a.ndim || b.shape.slice(0, -2).some((v, i) => v !== batchShape[i])))
    throw new RangeError(`matmul: batch dims of [${a.shape}] and [${b.shape}] differ`);
  const A = a.f, B = b.f;
  const out = emptyLike(A, batch * m * n);
  const be = backendFor(A, B);
  const lda = ac, ldb = bc;
  // A shared, untransposed B with untransposed A is one tall GEMM over all batch rows.
  const tall = sharedB && !transA;
  if (tall) {
    be.gemm({ transA, transB, m: batch * m, n, k, alpha: 1, a: A, aOffset: 0, lda, b: B, bOffset: 0, ldb, beta: 0, c: out, cOffset: 0, ldc: n });
  } else {
    be.gemmBatched({ transA, transB, m, n, k, alpha: 1, a: A, aOffset: 0, lda, b: B, bOffset: 0, ldb, beta: 0, c: out, cOffset: 0, ldc: n,
      batch, strideA: m * k, strideB: sharedB ? 0 : k * n, strideC: m * n });
  }
  return result(out, [...batchShape, m, n], "matmul", [a, b], (g, needs) => {
    const bg = backendFor(A, B, g);
    let gA: FloatArray | null = null, gB: FloatArray | null = null;
    if (needs[0]) {
      gA = emptyLike(g, a.numel);
      // d op(A) = dC op(B)ᵀ; stored A is op(A)ᵀ when transA, so dA = op(B) dCᵀ.
      const args = transA
        ? { transA: transB, transB: true, m: k, n: m, k: n, a: B, lda: ldb, b: g, ldb: n }
        : { transA: false, transB: !transB, m, n: k, k: n, a: g, lda: n, b: B, ldb: ldb };
      const common = { alpha: 1, aOffset: 0, bOffset: 0, beta: 0, c: gA, cOffset: 0, ldc: lda };
      if (tall) bg.gemm({ ...args, ...common, m: batch * m });
      else bg.gemmBatched({ ...args, ...common, batch, strideA: transA ? (sharedB ? 0 : k * n) : m * n,
        strideB: transA ? m * n : (sharedB ? 0 : k * n), strideC: m * k });
    }
    if (needs[1]) {
      gB = emptyLike(g, b.numel);
      // d op(B) = op(A)ᵀ dC; stored B is op(B)ᵀ when transB, so dB = dCᵀ op(A).
      const args = transB
        ? { transA: true, transB: transA, m: n, n: k, k: m, a: g, lda: n, b: A, ldb: lda }
        : { transA: !transA, transB: false, m: k, n, k: m, a: A, lda, b: g, ldb: n };
      const common = { alpha: 1, aOffset: 0, bOffset: 0, c: gB, cOffset: 0, ldc: ldb };
      if (tall) bg.gemm({ ...args, ...common, beta: 0, k: batch * m });
      else if (sharedB) {
        // Every batch adds into the one shared gradient.
        for (let t = 0; t < batch; t++) {
          const offA = t * m * k, offG = t * m * n;
          bg.gemm({ ...args, ...common, beta: t === 0 ? 0 : 1,
            aOffset: transB ? offG : offA, bOffset: transB ? offA : offG });
        }
      } else {
        bg.gemmBatched({ ...args, ...common, beta: 0, batch, strideA: transB ? m * n : m * k, strideB: transB ? m * k : m * n, strideC: k * n });
      }
    }
    return [gA, gB];
  });
}

/** A linear layer's shapes, from the weight: [out, in] (torch Linear) or [in, out] (GPT-2's Conv1D). */
export interface LinearShape {
  rows: number;
  inF: number;
  outF: number;
  weightInOut: boolean;
}

export function linearShape(x: Tensor, weight: Tensor, weightInOut: boolean): LinearShape {
  const [wr, wc] = weight.shape;
  const inF = weightInOut ? wr : wc, outF = weightInOut ? wc : wr;
  if (x.shape[x.ndim - 1] !== inF) throw new RangeError(`linear: input [${x.shape}] does not match weight [${weight.shape}]`);
  return { rows: x.numel / inF, inF, outF, weightInOut };
}

/** A linear layer's weight as the kernels take it: float values, or a frozen bf16 weight packed once. */
export type WeightData = FloatArray | Bf16Tensor;

export function weightData(weight: Tensor): WeightData {
  return weight instanceof Bf16Tensor ? weight : weight.f;
}

/** C = alpha · A op(W) (+ beta · C) with W a packed bf16 weight: `forward` is the layer's product X op(W), else
 *  its dX = dY op(W)ᵀ. The packed matrix is [out, in] unless the tensor was packed the other way round. */
function gemmBf16(s: LinearShape, W: Bf16Tensor, forward: boolean, alpha: number, A: FloatArray, C: FloatArray,
  bias: FloatArray | null = null): void {
  const packedOutIn = W.transposed === s.weightInOut;
  const inner = forward ? s.inF : s.outF;
  backendFor(A, C, bias).gemmBf16({ transW: forward !== packedOutIn, m: s.rows, alpha, a: A, aOffset: 0, lda: inner,
    w: W.packed, beta: 0, c: C, cOffset: 0, ldc: forward ? s.outF : s.inF, bias });
}

/** out = X op(W) + b: the bias added as the bf16 kernel writes its tile, or after the fp32 product in one native
 *  pass (the same single rounding of acc + b either way, without a copy per row). */
export function linearInto(s: LinearShape, X: FloatArray, W: WeightData, Bv: FloatArray | null, out: FloatArray): void {
  const { rows, inF, outF, weightInOut } = s;
  const be = backendFor(X, Bv);
  if (W instanceof Bf16Tensor) return gemmBf16(s, W, true, 1, X, out, Bv);
  be.gemm({ transA: false, transB: !weightInOut, m: rows, n: outF, k: inF, alpha: 1, a: X, aOffset: 0,
    lda: inF, b: W, bOffset: 0, ldb: weightInOut ? outF : inF, beta: 0, c: out, cOffset: 0, ldc: outF });
  if (Bv) be.addRows(out, Bv, rows, outF);
}

/** [dX, dW, db] of y = alpha · X op(W) + b from dY = g, each only where `needs` asks (a frozen weight costs no
 *  GEMM). */
export function linearGrads(s: LinearShape, X: FloatArray, W: WeightData, g: FloatArray, needs: boolean[],
  hasBias: boolean, alpha = 1): (FloatArray | null)[] {
  const { rows, inF, outF, weightInOut } = s;
  const bg = backendFor(X, g), ldw = weightInOut ? outF : inF;
  let gx: FloatArray | null = null, gw: FloatArray | null = null, gb: FloatArray | null = null;
  if (needs[0]) {
    gx = emptyLike(g, rows * inF);
    if (W instanceof Bf16Tensor) gemmBf16(s, W, false, alpha, g, gx);
    else bg.gemm({ transA: false, transB: weightInOut, m: rows, n: inF, k: outF, alpha, a: g, aOffset: 0, lda: outF,
      b: W, bOffset: 0, ldb: ldw, beta: 0, c: gx, cOffset: 0, ldc: inF });
  }
  if (needs[1]) {
    gw = emptyLike(g, inF * outF);
    if (weightInOut) bg.gemm({ transA: true, transB: false, m: inF, n: outF, k: rows, alpha, a: X, aOffset: 0, lda: inF,
      b: g, bOffset: 0, ldb: outF, beta: 0, c: gw, cOffset: 0, ldc: outF });
    else bg.gemm({ transA: true, transB: false, m: outF, n: inF, k: rows, alpha, a: g, aOffset: 0, lda: outF,
      b: X, bOffset: 0, ldb: inF, beta: 0, c: gw, cOffset: 0, ldc: inF });
  }
  if (hasBias && needs[2]) {
    gb = floatLike(g, outF);
    bg.sumRows(g, gb, rows, outF);
  }
  return hasBias ? [gx, gw, gb] : [gx, gw];
}

/** y = x Wᵀ + b for a torch Linear weight [out, in]; with `weightInOut` the weight is [in, out]
 *  (GPT-2's Conv1D) and y = x W + b. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null, weightInOut = false): Tensor {
  const s = linearShape(x, weight, weightInOut);
  const X = x.f, W = weightData(weight);
  const out = emptyLike(X, s.rows * s.outF);
  linearInto(s, X, W, bias?.f ?? null, out);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return result(out, [...x.shape.slice(0, -1), s.outF], "linear", inputs, (g, needs) => linearGrads(s, X, W, g, needs, !!bias));
}
