// Two-op fusions for the encoder blocks: the intermediate between the ops (the pre-activation, the residual
// sum) stays private to one graph node, so it is recycled once its backward has run, or at once when no
// graph is recorded; and without a graph the activation runs in place. Numerically the same kernels as
// the ops they replace.
import { backendFor } from "../../backend/index.js";
import { isGradEnabled, result } from "../autograd.js";
import { releaseFloat32 } from "../pool.js";
import { Tensor, emptyLike, floatLike } from "../tensor.js";
import { linearGrads, linearInto, linearShape, weightData } from "./matmul.js";

/** gelu(x Wᵀ + b) (approximate: the tanh form), for a torch Linear weight [out, in]; weightInOut: gelu(x W + b)
 *  for a Conv1D weight [in, out] (GPT-2). */
export function linearGelu(x: Tensor, weight: Tensor, bias: Tensor | null, approximate = false, weightInOut = false): Tensor {
  const s = linearShape(x, weight, weightInOut);
  const X = x.f, W = weightData(weight), n = s.rows * s.outF;
  const pre = emptyLike(X, n);
  linearInto(s, X, W, null, pre);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const recording = isGradEnabled() && inputs.some((t) => t.requiresGrad);
  const out = recording ? emptyLike(X, n) : pre;
  // The bias goes on in the GELU's pass rather than one of its own.
  if (bias) backendFor(pre, bias.f).biasGeluForward(pre, bias.f, out, s.rows, s.outF, approximate);
  else backendFor(pre).geluForward(pre, out, n, approximate);
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
  const inputs = [a, b, weight, bias], like = A instanceof Float64Array ? A : B;
  // Only backward reads the sum; without a graph it never leaves the row being normalised.
  const sum = isGradEnabled() && inputs.some((t) => t.requiresGrad) ? emptyLike(like, a.numel) : null;
  const Y = emptyLike(like, a.numel), mean = floatLike(like, rows), rstd = floatLike(like, rows);
  backendFor(A, B, W, Bv).addLayerNormForward(A, B, W, Bv, Y, sum, mean, rstd, rows, cols, eps);
  return result(Y, a.shape, "addLayerNorm", inputs, (g, needs) => {
    const dx = needs[0] || needs[1] ? emptyLike(g, g.length) : null;
    const gw = needs[2] ? floatLike(g, cols) : null, gb = needs[3] ? floatLike(g, cols) : null;
    backendFor(sum, g).layerNormBackward(g, sum!, W, mean, rstd, dx, gw, gb, rows, cols);
    releaseFloat32(sum!);
    return [needs[0] ? dx : null, needs[1] ? dx : null, gw, gb];
  });
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
