// Broadcasting as NumPy/PyTorch define it, reduced to index maps: for each output element, the
// element of an input it reads. Gradients flow back through the same map (sumTo).
import type { FloatArray } from "../backend/backend.js";
import { stridedCopy } from "../backend/typescript.js";
import { numelOf, stridesOf } from "./tensor.js";

export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1, db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new RangeError(`shapes [${a}] and [${b}] cannot be broadcast together`);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** How an input of shape `inShape` is read by an output of shape `outShape`. */
export type Reader =
  | { kind: "same" }
  | { kind: "scalar" }
  /** The input repeats every `period` output elements (e.g. a bias over rows). */
  | { kind: "period"; period: number }
  | { kind: "map"; index: Int32Array };

export function reader(outShape: readonly number[], inShape: readonly number[]): Reader {
  if (sameShape(outShape, inShape)) return { kind: "same" };
  const n = numelOf(inShape);
  if (n === 1) return { kind: "scalar" };
  // Trailing dims equal and all leading input dims 1: the input is a repeating block.
  const lead = outShape.length - inShape.length;
  let k = 0;
  while (k < inShape.length && inShape[k] === 1) k++;
  if (inShape.slice(k).every((d, i) => d === outShape[lead + k + i])) return { kind: "period", period: n };
  return { kind: "map", index: indexMap(outShape, inShape) };
}

/** Each output element's input offset: the input's element numbers read with its strides (0 where it
 *  broadcasts), the copy permute does. */
function indexMap(outShape: readonly number[], inShape: readonly number[]): Int32Array {
  const nd = outShape.length;
  const inStrides = stridesOf(inShape);
  const strides = new Array<number>(nd).fill(0);
  for (let i = 0; i < inShape.length; i++) {
    const od = nd - inShape.length + i;
    strides[od] = inShape[i] === 1 ? 0 : inStrides[i];
  }
  const offsets = Int32Array.from({ length: numelOf(inShape) }, (_, i) => i);
  const map = new Int32Array(numelOf(outShape));
  stridedCopy(offsets, map, outShape, strides);
  return map;
}

/** Reads input element for output element o. */
export function at(r: Reader, data: ArrayLike<number>, o: number): number {
  switch (r.kind) {
    case "same": return data[o];
    case "scalar": return data[0];
    case "period": return data[o % r.period];
    case "map": return data[r.index[o]];
  }
}

/** Sums an output-shaped gradient back to an input of `inNumel` elements. */
export function sumTo(r: Reader, g: FloatArray, inNumel: number, make: (n: number) => FloatArray): FloatArray {
  if (r.kind === "same") return g;
  const out = make(inNumel);
  switch (r.kind) {
    case "scalar": { let s = 0; for (let i = 0; i < g.length; i++) s += g[i]; out[0] = s; break; }
    case "period": {
      const p = r.period;
      for (let base = 0; base < g.length; base += p) for (let j = 0; j < p; j++) out[j] += g[base + j];
      break;
    }
    case "map": for (let i = 0; i < g.length; i++) out[r.index[i]] += g[i]; break;
  }
  return out;
}
