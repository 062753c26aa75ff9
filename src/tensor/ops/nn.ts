// Neural-network functions over the last dimension, on the backend's fused kernels where it has them.
import type { FloatArray } from "../../backend/backend.js";
import { backendFor } from "../../backend/index.js";
import { result } from "../autograd.js";
import { defaultGenerator, Generator } from "../random.js";
import { Tensor, emptyLike, floatLike } from "../tensor.js";
import { dropoutSpec } from "./attention.js";
import { permute } from "./shape.js";

function lastDimRows(x: Tensor): [number, number] {
  const cols = x.shape[x.ndim - 1];
  return [x.numel / cols, cols];
}

/** Moves dim to the end so the row kernels apply, then back. */
function alongLast(x: Tensor, dim: number, fn: (t: Tensor) => Tensor): Tensor {
  const d = dim < 0 ? dim + x.ndim : dim;
  if (d === x.ndim - 1) return fn(x);
  const perm = x.shape.map((_, i) => i);
  perm.splice(d, 1); perm.push(d);
  const inv = new Array<number>(x.ndim);
  perm.forEach((p, i) => (inv[p] = i));
  return permute(fn(permute(x, perm)), inv);
}

export function softmax(x: Tensor, dim = -1): Tensor {
  return alongLast(x, dim, (t) => {
    const [rows, cols] = lastDimRows(t);
    const X = t.f, Y = emptyLike(X, t.numel);
    backendFor(X).softmaxForward(X, Y, rows, cols);
    return result(Y, t.shape, "softmax", [t], (g) => {
      const gx = emptyLike(g, g.length);
      backendFor(Y, g).softmaxBackward(Y, g, gx, rows, cols);
      return [gx];
    });
  });
}

export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return alongLast(x, dim, (t) => {
    const [rows, cols] = lastDimRows(t);
    const X = t.f, Y = floatLike(X, t.numel);
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let max = -Infinity;
      for (let j = 0; j < cols; j++) if (X[o + j] > max) max = X[o + j];
      let s = 0;
      for (let j = 0; j < cols; j++) s += Math.exp(X[o + j] - max);
      const lse = max + Math.log(s);
      for (let j = 0; j < cols; j++) Y[o + j] = X[o + j] - lse;
    }
    return result(Y, t.shape, "logSoftmax", [t], (g) => {
      const gx = floatLike(g, g.length);
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        let s = 0;
        for (let j = 0; j < cols; j++) s += g[o + j];
        for (let j = 0; j < cols; j++) gx[o + j] = g[o + j] - Math.exp(Y[o + j]) * s;
      }
      return [gx];
    });
  });
}

export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  const [rows, cols] = lastDimRows(x);
  const X = x.f, W = weight?.f ?? null, B = bias?.f ?? null;
  const Y = emptyLike(X, x.numel), mean = floatLike(X, rows), rstd = floatLike(X, rows);
  backendFor(X, W, B).layerNormForward(X, W, B, Y, mean, rstd, rows, cols, eps);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return result(Y, x.shape, "layerNorm", inputs, (g, needs) => {
    const gx = needs[0] ? emptyLike(g, g.length) : null;
    const wi = weight ? 1 : -1, bi = bias ? (weight ? 2 : 1) : -1;
    const gw = wi > 0 && needs[wi] ? floatLike(g, cols) : null;
    const gb = bi > 0 && needs[bi] ? floatLike(g, cols) : null;
    backendFor(X, g).layerNormBackward(g, X, W, mean, rstd, gx, gw, gb, rows, cols);
    return [gx, ...(weight ? [gw] : []), ...(bias ? [gb] : [])];
  });
}

/** Llama's RMSNorm: w * x / sqrt(mean(x²) + eps). */
export function rmsNorm(x: Tensor, weight: Tensor | null, eps = 1e-6): Tensor {
  const [rows, cols] = lastDimRows(x);
  const X = x.f, W = weight?.f ?? null;
  const Y = emptyLike(X, x.numel), rstd = emptyLike(X, rows);
  backendFor(X, W).rmsNormForward(X, W, Y, rstd, rows, cols, eps);
  return result(Y, x.shape, "rmsNorm", weight ? [x, weight] : [x], (g, needs) => {
    const gx = needs[0] ? emptyLike(g, g.length) : null;
    const gw = weight && needs[1] ? floatLike(g, cols) : null;
    backendFor(X, W, g).rmsNormBackward(g, X, W, rstd, gx, gw, rows, cols);
    return weight ? [gx, gw] : [gx];
  });
}

/** Inverted dropout: zeroes with probability p and scales the rest by 1/(1-p), in training only. The mask
 *  is a hash of the element index under two seeds drawn from `gen`, so backward recomputes it. */
export function dropout(x: Tensor, p: number, training: boolean, gen: Generator = defaultGenerator): Tensor {
  if (!training || p === 0) return x;
  const spec = dropoutSpec(p, gen);
  const X = x.f, n = x.numel, out = emptyLike(X, n);
  backendFor(X).dropout(X, out, n, spec);
  return result(out, x.shape, "dropout", [x], (g) => {
    const gx = emptyLike(g, n);
    backendFor(g).dropout(g, gx, n, spec);
    return [gx];
  });
}

export interface CrossEntropyOptions {
  ignoreIndex?: number;
  reduction?: "mean" | "sum" | "none";
}

/** Cross-entropy of logits [..., C] against integer targets [...], as torch.nn.functional.cross_entropy:
 *  the mean runs over non-ignored targets. */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const ignoreIndex = opts.ignoreIndex ?? -100, reduction = opts.reduction ?? "mean";
  const [rows, cols] = lastDimRows(logits);
  if (targets.numel !== rows) throw new RangeError(`cross-entropy: ${targets.numel} targets for ${rows} rows of logits [${logits.shape}]`);
  const T = targets.data instanceof Int32Array ? targets.data : Int32Array.from(targets.data);
  const X = logits.f;
  const losses = floatLike(X, rows), lse = floatLike(X, rows);
  const be = backendFor(X);
  be.crossEntropyForward(X, T, rows, cols, ignoreIndex, losses, lse);
  let counted = 0;
  for (let r = 0; r < rows; r++) if (T[r] !== ignoreIndex) counted++;
  const rowScale = (g: FloatArray): FloatArray => {
    const s = floatLike(X, rows);
    for (let r = 0; r < rows; r++) s[r] = reduction === "none" ? g[r] : reduction === "sum" ? g[0] : g[0] / counted;
    return s;
  };
  const backward = (g: FloatArray) => {
    // Every element is written (ignored rows get zeros): no zero-fill of a [rows, vocabulary] buffer.
    const gx = emptyLike(g, X.length);
    backendFor(X, g).crossEntropyBackward(X, T, lse, rowScale(g), rows, cols, ignoreIndex, gx);
    return [gx];
  };
  if (reduction === "none") return result(losses, targets.shape, "crossEntropy", [logits], backward);
  let total = 0;
  for (let r = 0; r < rows; r++) total += losses[r];
  const out = floatLike(X, 1);
  // Mean over zero counted targets is NaN, as in torch.
  out[0] = reduction === "sum" ? total : total / counted;
  return result(out, [], "crossEntropy", [logits], backward);
}

export function mseLoss(input: Tensor, target: Tensor, reduction: "mean" | "sum" = "mean"): Tensor {
  const X = input.f, Y = target.f, n = input.numel;
  if (target.numel !== n) throw new RangeError(`mse: [${input.shape}] vs [${target.shape}]`);
  let s = 0;
  for (let i = 0; i < n; i++) { const d = X[i] - Y[i]; s += d * d; }
  const out = floatLike(X, 1);
  const k = reduction === "mean" ? 1 / n : 1;
  out[0] = s * k;
  return result(out, [], "mse", [input, target], (g, needs) => {
    const gx = floatLike(g, n);
    for (let i = 0; i < n; i++) gx[i] = 2 * k * g[0] * (X[i] - Y[i]);
    let gy: FloatArray | null = null;
    if (needs[1]) { gy = floatLike(g, n); for (let i = 0; i < n; i++) gy[i] = -gx[i]; }
    return [needs[0] ? gx : null, gy];
  });
}
