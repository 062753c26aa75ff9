// One vector per sequence from a model's last hidden state [batch, seq, hidden].
import type { Tensor } from "../../tensor/index.js";

/** cls: the first token (BERT's [CLS]; right padding keeps it at position 0). mean: the average over
 *  real tokens (attention mask 1). last: the last real token, the one a causal LM has read all text by. */
export type Pooling = "cls" | "mean" | "last";

export const POOLINGS: readonly Pooling[] = ["cls", "mean", "last"];

/** Writes row b of the pooled batch to out[rowOffsets[b] ..]; mask is [batch, seq] of 0/1. cls reads neither the
 *  mask nor any position but 0, so for it hidden may hold position 0 alone ([batch, 1, hidden]). */
export function poolInto(hidden: Tensor, mask: Int32Array, pooling: Pooling, out: Float32Array, rowOffsets: number[]): void {
  const [batch, seq, dim] = hidden.shape;
  const H = hidden.data;
  for (let b = 0; b < batch; b++) {
    const o = rowOffsets[b];
    if (pooling === "mean") {
      let count = 0;
      const acc = new Float64Array(dim);
      for (let s = 0; s < seq; s++) {
        if (mask[b * seq + s] === 0) continue;
        count++;
        const h = (b * seq + s) * dim;
        for (let d = 0; d < dim; d++) acc[d] += H[h + d];
      }
      for (let d = 0; d < dim; d++) out[o + d] = acc[d] / Math.max(count, 1);
      continue;
    }
    let pos = 0;
    if (pooling === "last") for (let s = 0; s < seq; s++) if (mask[b * seq + s] !== 0) pos = s;
    const h = (b * seq + pos) * dim;
    for (let d = 0; d < dim; d++) out[o + d] = H[h + d];
  }
}
