// GPT-2 causal self-attention: one Conv1D projects to q | k | v, cached keys/values come first, and
// the causal + padding mask reproduces transformers' torch.where(causal, w, min) + (1 - mask)·min.
import { Conv1D, Dropout, Module } from "../../nn/index.js";
import { Tensor, permute, reshape, slice } from "../../tensor/index.js";
import { FLOAT32_MIN, attend, mergeHeads, type AdditiveMask } from "../attention.js";
import { withPast } from "../kv-cache.js";
import type { LayerPast } from "../outputs.js";
import type { GPT2Config } from "./config.js";

/** The additive mask [batch, queries, past + queries]. A key both after the query and padded gets
 *  min + min = -inf in float32, as in transformers; every other masked entry rounds to min. `segments`
 *  [batch, queries] (packed sequences, no past, no padding mask) keeps attention within each sequence. */
export function gpt2AttentionMask(padding: Tensor | null, batch: number, queries: number, past: number,
  segments: Int32Array | null = null): AdditiveMask {
  const keys = past + queries;
  const data = new Float32Array(batch * queries * keys);
  const m = padding?.data;
  for (let b = 0; b < batch; b++) for (let q = 0; q < queries; q++) {
    const o = (b * queries + q) * keys;
    for (let k = 0; k < keys; k++) {
      const padded = m !== undefined && m[b * keys + k] === 0;
      const future = k > past + q || (segments !== null && segments[b * queries + k] !== segments[b * queries + q]);
      data[o + k] = future && padded ? -Infinity : future || padded ? FLOAT32_MIN : 0;
    }
  }
  return { data, batch, rows: queries, keys };
}

export class GPT2Attention extends Module {
  readonly cAttn: Conv1D;
  readonly cProj: Conv1D;
  readonly residDropout: Dropout;
  private readonly divisor: number;

  constructor(readonly config: GPT2Config, layerIdx: number) {
    super();
    const e = config.nEmbd;
    this.cAttn = this.addModule("c_attn", new Conv1D(3 * e, e));
    this.cProj = this.addModule("c_proj", new Conv1D(e, e));
    this.residDropout = this.addModule("resid_dropout", new Dropout(config.residPdrop));
    const byDim = config.scaleAttnWeights ? Math.fround(Math.sqrt(config.headDim)) : 1;
    this.divisor = config.scaleAttnByInverseLayerIdx ? byDim * (layerIdx + 1) : byDim;
  }

  /** x [batch, seq, embd] -> output, and this layer's keys/values with the past in front. */
  forward(x: Tensor, mask: AdditiveMask, past: LayerPast | undefined): { output: Tensor; present: LayerPast } {
    const [batch, seq] = x.shape;
    const { nHead, headDim } = this.config;
    // [batch, seq, 3, heads, headDim] -> [3, batch, heads, seq, headDim]: q, k, v become contiguous blocks.
    const qkv = permute(reshape(this.cAttn.forward(x), [batch, seq, 3, nHead, headDim]), [2, 0, 3, 1, 4]);
    const part = (i: number) => reshape(slice(qkv, 0, i, i + 1), [batch, nHead, seq, headDim]);
    const present = withPast(past, part(1), part(2));
    const ctx = attend(part(0), present.key, present.value, mask,
      { divisor: this.divisor, dropoutP: this.config.attnPdrop, training: this.training, keys: present.length });
    return { output: this.residDropout.forward(this.cProj.forward(mergeHeads(ctx))), present };
  }
}
