// Turns pre-tokenized examples into one padded batch of tensors, the shape the models' forward() takes.
import { Tensor } from "../tensor/index.js";

/** One tokenized example. `label` is a class id (sequence classification); `labels` are per-token targets
 *  (causal LM, -100 where no loss is taken), as long as `inputIds`. */
export interface Example {
  inputIds: number[];
  label?: number;
  labels?: number[];
  tokenTypeIds?: number[];
  /** Packed causal-LM rows (packExamples): each example's positions, restarting at 0 where it starts. */
  positionIds?: number[];
}

export interface Batch {
  /** int32 [B, L] */
  inputIds: Tensor;
  /** int32 [B, L], 1 = real token */
  attentionMask: Tensor;
  /** int32 [B] (classification) or [B, L] padded with -100 (causal LM) */
  labels?: Tensor;
  tokenTypeIds?: Tensor;
  /** int32 [B, L], packed rows only. Padding after a row's examples counts up from 0 as a sequence of its own, so
   *  no real token attends to it. */
  positionIds?: Tensor;
  /** Positions of the examples in the dataset, so predictions can be put back in order. */
  indices: number[];
  size: number;
}

export type PaddingSide = "right" | "left";

export interface CollateOptions {
  padTokenId: number;
  paddingSide?: PaddingSide;
}

/** The value torch's cross-entropy ignores; padded label positions get it. */
export const IGNORE_INDEX = -100;

export function collate(examples: readonly Example[], indices: readonly number[], opts: CollateOptions): Batch {
  const b = examples.length;
  if (b === 0) throw new Error("collate: empty batch");
  let len = 0;
  for (const e of examples) len = Math.max(len, e.inputIds.length);
  const left = opts.paddingSide === "left";
  const ids = new Int32Array(b * len).fill(opts.padTokenId);
  const mask = new Int32Array(b * len);
  const hasTokenLabels = examples[0].labels !== undefined;
  const hasLabel = examples[0].label !== undefined;
  const hasTypes = examples[0].tokenTypeIds !== undefined;
  const hasPositions = examples[0].positionIds !== undefined;
  const tokenLabels = hasTokenLabels ? new Int32Array(b * len).fill(IGNORE_INDEX) : null;
  const types = hasTypes ? new Int32Array(b * len) : null;
  const positions = hasPositions ? new Int32Array(b * len) : null;
  const label = hasLabel ? new Int32Array(b) : null;
  examples.forEach((e, r) => {
    if ((e.labels !== undefined) !== hasTokenLabels || (e.label !== undefined) !== hasLabel || (e.tokenTypeIds !== undefined) !== hasTypes ||
        (e.positionIds !== undefined) !== hasPositions) {
      throw new Error(`collate: example ${indices[r]} has different fields from the first example of its batch`);
    }
    const n = e.inputIds.length;
    const off = r * len + (left ? len - n : 0);
    ids.set(e.inputIds, off);
    mask.fill(1, off, off + n);
    if (tokenLabels) {
      if (e.labels!.length !== n) throw new Error(`collate: example ${indices[r]} has ${e.labels!.length} labels for ${n} tokens`);
      tokenLabels.set(e.labels!, off);
    }
    if (types) types.set(e.tokenTypeIds!, off);
    if (positions) {
      if (left) throw new Error("collate: packed rows (positionIds) are padded on the right");
      positions.set(e.positionIds!, off);
      for (let t = n; t < len; t++) positions[r * len + t] = t - n;
    }
    if (label) label[r] = e.label!;
  });
  const batch: Batch = {
    inputIds: new Tensor(ids, [b, len]),
    attentionMask: new Tensor(mask, [b, len]),
    indices: [...indices],
    size: b,
  };
  if (tokenLabels) batch.labels = new Tensor(tokenLabels, [b, len]);
  else if (label) batch.labels = new Tensor(label, [b]);
  if (types) batch.tokenTypeIds = new Tensor(types, [b, len]);
  if (positions) batch.positionIds = new Tensor(positions, [b, len]);
  return batch;
}
