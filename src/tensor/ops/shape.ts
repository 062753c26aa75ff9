// Ops that move elements without arithmetic: views, permutations, slices, joins and lookups.
import type { FloatArray } from "../../backend/backend.js";
import { result } from "../autograd.js";
import { unpackBf16Row } from "../../backend/bf16.js";
import { backendFor } from "../../backend/index.js";
import { stridedCopy } from "../../backend/typescript.js";
import { Bf16Tensor, Tensor, TensorData, allocEmpty, emptyLike, floatLike, normDim, numelOf, stridesOf } from "../tensor.js";

/** Same buffer, new shape; one dimension may be -1. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const known = shape.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  const resolved = shape.map((d) => (d === -1 ? x.numel / known : d));
  if (numelOf(resolved) !== x.numel) throw new RangeError(`cannot reshape [${x.shape}] into [${shape}]`);
  return result(x.data, resolved, "reshape", [x], (g) => [g]);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  const s = normDim(startDim, x.ndim), e = normDim(endDim, x.ndim);
  const mid = x.shape.slice(s, e + 1).reduce((p, d) => p * d, 1);
  return reshape(x, [...x.shape.slice(0, s), mid, ...x.shape.slice(e + 1)]);
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = dim < 0 ? dim + x.ndim + 1 : dim;
  return reshape(x, [...x.shape.slice(0, d), 1, ...x.shape.slice(d)]);
}

export function squeeze(x: Tensor, dim: number): Tensor {
  const d = normDim(dim, x.ndim);
  if (x.shape[d] !== 1) return x;
  return reshape(x, [...x.shape.slice(0, d), ...x.shape.slice(d + 1)]);
}

/** Copies `src` (shape `shape`) into `out` with axes reordered by `perm`: float tensors on the backend (splitting
 *  and merging attention heads is a few percent of a decoder's step), int32 ones by the reference loop. */
function permuteData<T extends TensorData>(src: T, shape: readonly number[], perm: readonly number[], out: T): T {
  const inStrides = stridesOf(shape);
  const outShape = Int32Array.from(perm, (p) => shape[p]), strides = Int32Array.from(perm, (p) => inStrides[p]);
  if (src instanceof Int32Array || out instanceof Int32Array) stridedCopy(src, out, outShape, strides);
  else backendFor(src, out).stridedCopy(src, out, outShape, strides);
  return out;
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.ndim) throw new RangeError(`permute: ${perm.length} axes for a ${x.ndim}-d tensor`);
  const p = perm.map((d) => normDim(d, x.ndim));
  if (new Set(p).size !== p.length) throw new RangeError(`permute: repeated axis in [${perm}]`);
  if (p.every((d, i) => d === i)) return x;
  const shape = p.map((d) => x.shape[d]);
  const out = permuteData(x.data, x.shape, p, allocEmpty(x.dtype, x.numel));
  const inverse = new Array<number>(p.length);
  p.forEach((d, i) => (inverse[d] = i));
  return result(out, shape, "permute", [x], (g) => [permuteData(g, shape, inverse, emptyLike(g, g.length))]);
}

export function transpose(x: Tensor, d0: number, d1: number): Tensor {
  const perm = x.shape.map((_, i) => i);
  const a = normDim(d0, x.ndim), b = normDim(d1, x.ndim);
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return permute(x, perm);
}

/** Elements [start, end) along dim (torch narrow / basic slicing). */
export function slice(x: Tensor, dim: number, start: number, end?: number): Tensor {
  const d = normDim(dim, x.ndim), size = x.shape[d];
  const s = Math.max(0, Math.min(size, start < 0 ? start + size : start));
  const e = Math.max(s, Math.min(size, end === undefined ? size : end < 0 ? end + size : end));
  if (s === 0 && e === size) return x;
  const outer = x.shape.slice(0, d).reduce((p, v) => p * v, 1);
  const inner = x.shape.slice(d + 1).reduce((p, v) => p * v, 1);
  const len = e - s;
  const out = allocEmpty(x.dtype, outer * len * inner);
  for (let o = 0; o < outer; o++) {
    const src = (o * size + s) * inner;
    out.set(x.data.subarray(src, src + len * inner), o * len * inner);
  }
  const shape = [...x.shape]; shape[d] = len;
  return result(out, shape, "slice", [x], (g) => {
    const gx = floatLike(g, x.numel);
    for (let o = 0; o < outer; o++) gx.set(g.subarray(o * len * inner, (o + 1) * len * inner), (o * size + s) * inner);
    return [gx];
  });
}

export function cat(xs: readonly Tensor[], dim = 0): Tensor {
  if (xs.length === 0) throw new RangeError("cat: no tensors");
  const ref = xs[0], d = normDim(dim, ref.ndim);
  for (const t of xs) {
    if (t.ndim !== ref.ndim || t.shape.some((v, i) => i !== d && v !== ref.shape[i]))
      throw new RangeError(`cat: shapes [${ref.shape}] and [${t.shape}] differ outside dim ${d}`);
  }
  const outer = ref.shape.slice(0, d).reduce((p, v) => p * v, 1);
  const inner = ref.shape.slice(d + 1).reduce((p, v) => p * v, 1);
  const total = xs.reduce((p, t) => p + t.shape[d], 0);
  const out = allocEmpty(ref.dtype, outer * total * inner);
  let off = 0;
  for (const t of xs) {
    const w = t.shape[d] * inner;
    for (let o = 0; o < outer; o++) out.set(t.data.subarray(o * w, (o + 1) * w), o * total * inner + off);
    off += w;
  }
  const shape = [...ref.shape]; shape[d] = total;
  return result(out, shape, "cat", [...xs], (g, needs) => {
    let at = 0;
    return xs.map((t, i) => {
      const w = t.shape[d] * inner, start = at;
      at += w;
      if (!needs[i]) return null;
      const gt = floatLike(g, t.numel);
      for (let o = 0; o < outer; o++) gt.set(g.subarray(o * total * inner + start, o * total * inner + start + w), o * w);
      return gt;
    });
  });
}

export function stack(xs: readonly Tensor[], dim = 0): Tensor {
  const d = dim < 0 ? dim + xs[0].ndim + 1 : dim;
  return cat(xs.map((t) => unsqueeze(t, d)), d);
}

export function split(x: Tensor, sizes: number | readonly number[], dim = 0): Tensor[] {
  const d = normDim(dim, x.ndim);
  const parts = typeof sizes === "number"
    ? Array.from({ length: Math.ceil(x.shape[d] / sizes) }, (_, i) => Math.min(sizes, x.shape[d] - i * sizes))
    : sizes;
  let start = 0;
  return parts.map((len) => { const t = slice(x, d, start, start + len); start += len; return t; });
}

/** Repeats singleton dims to `shape` (a copy, unlike torch's expand view). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (shape.length !== x.ndim) throw new RangeError(`expand: [${x.shape}] to [${shape}] needs equal rank`);
  let out: Tensor = x;
  for (let d = 0; d < shape.length; d++) {
    if (x.shape[d] === shape[d]) continue;
    if (x.shape[d] !== 1) throw new RangeError(`expand: dim ${d} of size ${x.shape[d]} cannot become ${shape[d]}`);
    out = repeatDim(out, d, shape[d]);
  }
  return out;
}

/** Repeats the whole tensor `times` times along an existing singleton or any dim, block-wise. */
function repeatDim(x: Tensor, d: number, times: number): Tensor {
  return cat(Array.from({ length: times }, () => x), d);
}

/** Repeats each slice along dim `times` times in place (torch.repeat_interleave), e.g. GQA kv heads. */
export function repeatInterleave(x: Tensor, times: number, dim: number): Tensor {
  if (times === 1) return x;
  const d = normDim(dim, x.ndim);
  const outer = x.shape.slice(0, d + 1).reduce((p, v) => p * v, 1);
  const inner = x.shape.slice(d + 1).reduce((p, v) => p * v, 1);
  const out = allocEmpty(x.dtype, x.numel * times);
  for (let o = 0; o < outer; o++) {
    const src = x.data.subarray(o * inner, (o + 1) * inner);
    for (let t = 0; t < times; t++) out.set(src, (o * times + t) * inner);
  }
  const shape = [...x.shape]; shape[d] *= times;
  return result(out, shape, "repeatInterleave", [x], (g) => {
    const gx = floatLike(g, x.numel);
    for (let o = 0; o < outer; o++)
      for (let t = 0; t < times; t++) {
        const base = (o * times + t) * inner;
        for (let j = 0; j < inner; j++) gx[o * inner + j] += g[base + j];
      }
    return [gx];
  });
}

/** Rows of a 2-d `weight` picked by integer `indices` of any shape: out shape = [...indices, cols].
 *  Rows listed in `skipGradRows` (an embedding's padding_idx) receive no gradient. */
export function embedding(weight: Tensor, indices: Tensor, paddingIdx?: number): Tensor {
  if (weight.ndim !== 2) throw new RangeError(`embedding: weight must be 2-d, got [${weight.shape}]`);
  const [rows, cols] = weight.shape;
  const idx = indices.data;
  // A bf16 table widens only the rows looked up.
  const packed = weight instanceof Bf16Tensor && !weight.transposed ? weight.packed : null;
  const table = packed ? null : weight.data;
  const out = allocEmpty(packed ? "float32" : weight.dtype, idx.length * cols);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i];
    if (!(r >= 0 && r < rows) || !Number.isInteger(r)) throw new RangeError(`embedding: index ${r} out of range [0, ${rows})`);
    if (packed) unpackBf16Row(packed, r, out as Float32Array, i * cols);
    else out.set(table!.subarray(r * cols, (r + 1) * cols), i * cols);
  }
  return result(out, [...indices.shape, cols], "embedding", [weight], (g) => {
    const gw = floatLike(g, weight.numel);
    for (let i = 0; i < idx.length; i++) {
      const r = idx[i];
      if (r === paddingIdx) continue;
      const o = r * cols, s = i * cols;
      for (let j = 0; j < cols; j++) gw[o + j] += g[s + j];
    }
    return [gw];
  });
}

/** indexSelect(x, dim, indices): slices of x along dim picked by integer indices. */
export function indexSelect(x: Tensor, dim: number, indices: Tensor | readonly number[]): Tensor {
  const d = normDim(dim, x.ndim);
  const ids = indices instanceof Tensor ? Array.from(indices.data) : indices;
  const moved = d === 0 ? x : transpose(x, 0, d);
  const rows = moved.shape[0];
  const flat = reshape(moved, [rows, moved.numel / Math.max(1, rows)]);
  const picked = embedding(flat, new Tensor(Int32Array.from(ids), [ids.length]));
  const out = reshape(picked, [ids.length, ...moved.shape.slice(1)]);
  return d === 0 ? out : transpose(out, 0, d);
}

/** out[..., i] = x[..., index[..., i]] along the last dim (torch.gather with dim=-1). */
export function gatherLast(x: Tensor, index: Tensor): Tensor {
  const cols = x.shape[x.ndim - 1], k = index.shape[index.ndim - 1];
  const rows = x.numel / cols;
  if (index.numel !== rows * k) throw new RangeError(`gather: index [${index.shape}] does not match [${x.shape}]`);
  const out = allocEmpty(x.dtype, rows * k);
  const id = index.data;
  for (let r = 0; r < rows; r++) for (let j = 0; j < k; j++) out[r * k + j] = x.data[r * cols + id[r * k + j]];
  return result(out, index.shape, "gather", [x], (g) => {
    const gx = floatLike(g, x.numel);
    for (let r = 0; r < rows; r++) for (let j = 0; j < k; j++) gx[r * cols + id[r * k + j]] += g[r * k + j];
    return [gx];
  });
}

/** Wraps a buffer computed outside autograd (e.g. a mask) as a constant. */
export function constant(data: FloatArray, shape: readonly number[]): Tensor {
  return new Tensor(data, shape);
}
