// How an attention layer puts its past keys/values in front of its new ones. A plain past ({ key, value }: a
// caller's tuple, prefix tuning's virtual tokens) is joined by a copy, so the past stays untouched and can be
// reused, as transformers' legacy tuple cache. A growable past (`growableCache`, what generation uses) keeps
// each layer's keys in a buffer with spare rows after the `length` in use, and a forward writes its new keys
// there in place: a generation step copies one token's keys instead of the whole past (transformers'
// StaticCache does the same), and the attention kernel reads the rows in use where they lie.
import { Tensor, cat, isGradEnabled } from "../tensor/index.js";
import { emptyLike } from "../tensor/tensor.js";
import type { LayerPast } from "./outputs.js";

/** The rows of a layer's past that hold keys. */
export function pastLength(past: LayerPast): number {
  return past.length ?? past.key.shape[2];
}

/** A layer's past must be [batch, kvHeads, rows, headDim] to sit in front of keys of that batch, heads and size. */
export function checkLayerPast(past: LayerPast, b: number, h: number, d: number): void {
  for (const [name, t] of [["key", past.key], ["value", past.value]] as const) {
    if (t.ndim !== 4 || t.shape[0] !== b || t.shape[1] !== h || t.shape[3] !== d)
      throw new RangeError(`pastKeyValues ${name} has shape [${t.shape}]; expected [${b}, ${h}, pastLength, ${d}]`);
  }
  const length = pastLength(past);
  if (past.key.shape[2] !== past.value.shape[2] || !Number.isInteger(length) || length < 0 || length > past.key.shape[2])
    throw new RangeError(`pastKeyValues: key rows ${past.key.shape[2]}, value rows ${past.value.shape[2]} and length ${past.length} do not agree`);
}

/** key, value [batch, kvHeads, seq, headDim] with the layer's past in front: what the layer attends over and
 *  returns as its present. With a growable past, the present is that past's buffers, `length` rows longer. */
export function withPast(past: LayerPast | undefined, key: Tensor, value: Tensor): LayerPast {
  if (!past) return { key, value };
  checkLayerPast(past, key.shape[0], key.shape[1], key.shape[3]);
  if (past.length === undefined) return { key: cat([past.key, key], 2), value: cat([past.value, value], 2) };
  if (isGradEnabled() && (key.requiresGrad || value.requiresGrad))
    throw new Error("a growable key/value cache is written in place, which autograd cannot follow; run generation under noGrad");
  const length = past.length + key.shape[2];
  const rows = past.key.shape[2];
  const grown = length > rows ? growableCache([past], Math.max(length, 2 * rows) - past.length)[0] : past;
  copyRows(key, grown.key, key.shape[2], past.length);
  copyRows(value, grown.value, value.shape[2], past.length);
  return { key: grown.key, value: grown.value, length };
}

/** Each layer's past copied into buffers with `spare` rows after it, for forwards that append. */
export function growableCache(past: readonly LayerPast[], spare: number): LayerPast[] {
  if (!Number.isInteger(spare) || spare < 0) throw new RangeError(`growableCache: spare rows must be a non-negative integer, got ${spare}`);
  return past.map((p) => {
    const length = pastLength(p);
    const buffer = (t: Tensor) => {
      const [b, h, , d] = t.shape;
      const out = new Tensor(emptyLike(t, b * h * (length + spare) * d), [b, h, length + spare, d]);
      copyRows(t, out, length, 0);
      return out;
    };
    return { key: buffer(p.key), value: buffer(p.value), length };
  });
}

/** The first `rows` rows of each (batch, head) of src into dst from row `at`. */
function copyRows(src: Tensor, dst: Tensor, rows: number, at: number): void {
  const [b, h, srcRows, d] = src.shape, dstRows = dst.shape[2];
  const from = src.f, to = dst.f;
  for (let bh = 0; bh < b * h; bh++)
    to.set(from.subarray(bh * srcRows * d, (bh * srcRows + rows) * d), (bh * dstRows + at) * d);
}
