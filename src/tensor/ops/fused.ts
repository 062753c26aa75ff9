// Two-op fusions for the encoder blocks: the intermediate between the ops (the pre-activation, the residual
// sum) stays private to one graph node, so it is recycled once its backward has run, or at once when no
// graph is recorded; and without a graph the activation runs in place. Numerically the same kernels as
// the ops they replace.
import { backendFor } from "../../backend/index.js";
import { isGradEnabled, result } from "../autograd.js";
import { releaseFloat32 } from "../pool.js";
import { Tensor, emptyLike, floatLike } from "../tensor.js";
import { linearGrads, linearInto, linearShape, weightData } from "./matmul.js";

/** gelu(x Wᵀ + b) (approximate: the tanh form), for a torch Linear weight [out, in]. */
export function linearGelu(x: Tensor, weight: Tensor, bias: Tensor | null, approximate = false): Tensor {
  const s = linearShape(x, weight, false);
  const X = x.f, W = weightData(weight), n = s.rows * s.outF;
  const pre = emptyLike(X, n);
  linearInto(s, X, W, bias?.f ?? null, pre);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const recording = isGradEnabled() && inputs.some((t) => t.requiresGrad);
  const out = recording ? emptyLike(X, n) : pre;
  backendFor(pre).geluForward(pre, out, n, approximate);
  return result(out, [...x.shape.slice(0, -1), s.outF], "linearGelu", inputs, (g, needs) => {
    const dPre = emptyLike(g, n);
    backendFor(pre, g).geluBackward(pre, g, dPre, n, approximate);
    releaseFloat32(pre);
    const grads = linearGrads(s, X, W, dPre, needs, !!bias);
    releaseFloat32(dPre);
    return grads;
  });
}

/** layerNorm(a + b): a residual connection and the norm after it. */
export function addLayerNorm(a: Tensor, b: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor {
  if (a.shape.join() !== b.shape.join()) throw new RangeError(`addLayerNorm: [${a.shape}] and [${b.shape}] differ`);
  const cols = a.shape[a.ndim - 1], rows = a.numel / cols;
  const A = a.f, B = b.f, W = weight.f, Bv = bias.f;
  const be = backendFor(A, B, W, Bv);
  const sum = emptyLike(A instanceof Float64Array ? A : B, a.numel);
  be.add(A, B, sum, a.numel);
  const Y = emptyLike(sum, a.numel), mean = floatLike(sum, rows), rstd = floatLike(sum, rows);
  be.layerNormForward(sum, W, Bv, Y, mean, rstd, rows, cols, eps);
  const y = result(Y, a.shape, "addLayerNorm", [a, b, weight, bias], (g, needs) => {
    const dx = needs[0] || needs[1] ? emptyLike(g, g.length) : null;
    const gw = needs[2] ? floatLike(g, cols) : null, gb = needs[3] ? floatLike(g, cols) : null;
    backendFor(sum, g).layerNormBackward(g, sum, W, mean, rstd, dx, gw, gb, rows, cols);
    releaseFloat32(sum);
    return [needs[0] ? dx : null, needs[1] ? dx : null, gw, gb];
  });
  if (!y.gradFn) releaseFloat32(sum);
  return y;
}

/** y + alpha · x Wᵀ for a torch Linear weight [out, in] without bias: a LoRA branch's last product, its
 *  scaling and the sum with the base layer's output as one GEMM accumulating onto a copy of y. */
export function addLinear(y: Tensor, x: Tensor, weight: Tensor, alpha: number): Tensor {
  const s = linearShape(x, weight, false);
  if (y.numel !== s.rows * s.outF) throw new RangeError(`addLinear: [${y.shape}] does not take x [${x.shape}] @ [${weight.shape}]ᵀ`);
  const X = x.f, W = weight.f, Y = y.f;
  const out = emptyLike(Y instanceof Float64Array ? Y : X, y.numel);
  out.set(Y);
  backendFor(X, W, out).gemm({ transA: false, transB: true, m: s.rows, n: s.outF, k: s.inF, alpha, a: X, aOffset: 0,
    lda: s.inF, b: W, bOffset: 0, ldb: s.inF, beta: 1, c: out, cOffset: 0, ldc: s.outF });
  return result(out, y.shape, "addLinear", [y, x, weight], (g, needs) =>
    [needs[0] ? g : null, ...linearGrads(s, X, W, g, [needs[1], needs[2]], false, alpha)]);
}

/** The activation fused into linearGelu for an HF activation name, or null where there is none. */
export function fusedGelu(activation: string): { approximate: boolean } | null {
  if (activation === "gelu") return { approximate: false };
  if (activation === "gelu_new" || activation === "gelu_pytorch_tanh") return { approximate: true };
  return null;
}
