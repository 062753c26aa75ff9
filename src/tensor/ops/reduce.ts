// Reductions over one dimension (or all): the tensor is seen as [outer, size, inner].
import { result } from "../autograd.js";
import { Tensor, alloc, emptyLike, floatLike, normDim } from "../tensor.js";
import { mul, sub } from "./elementwise.js";
import { reshape } from "./shape.js";

function layout(x: Tensor, dim: number) {
  const d = normDim(dim, x.ndim);
  const outer = x.shape.slice(0, d).reduce((p, v) => p * v, 1);
  const inner = x.shape.slice(d + 1).reduce((p, v) => p * v, 1);
  return { d, outer, size: x.shape[d], inner };
}

function reducedShape(x: Tensor, d: number, keepdim: boolean): number[] {
  return keepdim ? x.shape.map((v, i) => (i === d ? 1 : v)) : x.shape.filter((_, i) => i !== d);
}

export function sum(x: Tensor, dim?: number, keepdim = false): Tensor {
  if (dim === undefined) return sum(reshape(x, [x.numel]), 0, false);
  const { d, outer, size, inner } = layout(x, dim);
  const out = alloc(x.dtype === "int32" ? "float32" : x.dtype, outer * inner);
  const xd = x.data;
  for (let o = 0; o < outer; o++)
    for (let s = 0; s < size; s++) {
      const base = (o * size + s) * inner;
      for (let i = 0; i < inner; i++) out[o * inner + i] += xd[base + i];
    }
  return result(out, reducedShape(x, d, keepdim), "sum", [x], (g) => {
    const gx = floatLike(g, x.numel);
    for (let o = 0; o < outer; o++)
      for (let s = 0; s < size; s++) gx.set(g.subarray(o * inner, (o + 1) * inner), (o * size + s) * inner);
    return [gx];
  });
}

export function mean(x: Tensor, dim?: number, keepdim = false): Tensor {
  const n = dim === undefined ? x.numel : x.shape[normDim(dim, x.ndim)];
  return scale(sum(x, dim, keepdim), 1 / n);
}

/** x * c for a plain number c (cheaper than broadcasting a scalar tensor). */
export function scale(x: Tensor, c: number): Tensor {
  const xd = x.f;
  const out = emptyLike(xd, x.numel);
  for (let i = 0; i < out.length; i++) out[i] = xd[i] * c;
  return result(out, x.shape, "scale", [x], (g) => {
    const gx = emptyLike(g, g.length);
    for (let i = 0; i < g.length; i++) gx[i] = g[i] * c;
    return [gx];
  });
}

/** Maximum along dim; the gradient goes to the first arg-max, as torch does. */
export function max(x: Tensor, dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
  const { d, outer, size, inner } = layout(x, dim);
  const vals = alloc(x.dtype, outer * inner);
  const idx = new Int32Array(outer * inner);
  const xd = x.data;
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      let best = -Infinity, bi = 0;
      for (let s = 0; s < size; s++) {
        const v = xd[(o * size + s) * inner + i];
        if (v > best || Number.isNaN(v)) { best = v; bi = s; if (Number.isNaN(v)) break; }
      }
      vals[o * inner + i] = best; idx[o * inner + i] = bi;
    }
  const shape = reducedShape(x, d, keepdim);
  const values = result(vals, shape, "max", [x], (g) => {
    const gx = floatLike(g, x.numel);
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < inner; i++) gx[(o * size + idx[o * inner + i]) * inner + i] = g[o * inner + i];
    return [gx];
  });
  return { values, indices: new Tensor(idx, shape) };
}

export function argmax(x: Tensor, dim: number, keepdim = false): Tensor {
  return max(x.detach(), dim, keepdim).indices;
}

/** Variance along dim; unbiased (Bessel) by default as torch.var. */
export function variance(x: Tensor, dim: number, keepdim = false, unbiased = true): Tensor {
  const { size } = layout(x, dim);
  const centered = sub(x, mean(x, dim, true));
  return scale(sum(mul(centered, centered), dim, keepdim), 1 / (unbiased ? size - 1 : size));
}
