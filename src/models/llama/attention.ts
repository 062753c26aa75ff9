// Llama-family self-attention: separate q/k/v projections, RoPE on queries and new keys (never on past
// or prefix keys), grouped-query attention and a causal + padding (+ sliding-window) mask.
import { Linear, Module } from "../../nn/index.js";
import { Tensor, cat, reshape } from "../../tensor/index.js";
import { FLOAT32_MIN, attend, mergeHeads, splitHeads, type AdditiveMask } from "../attention.js";
import { checkLayerPast } from "../generation.js";
import type { LayerPast } from "../outputs.js";
import type { LlamaConfig } from "./config.js";
import { applyRope, type RopeTable } from "./rope.js";

/** The additive mask, 0 or float32 min as transformers builds it, for queries at positions past ..
 *  past + queries - 1. Its rows repeat once per query head sharing a key/value head (see attention).
 *  `segments` [batch, queries] (packed sequences, no past) keeps each token's attention within its sequence. */
export function llamaAttentionMask(padding: Tensor | null, batch: number, queries: number, past: number,
  slidingWindow: number | null, groups: number, segments: Int32Array | null = null): AdditiveMask {
  const keys = past + queries, rows = groups * queries;
  const data = new Float32Array(batch * rows * keys);
  const m = padding?.data;
  for (let b = 0; b < batch; b++) for (let q = 0; q < queries; q++) {
    const o = (b * rows + q) * keys, at = past + q;
    for (let k = 0; k < keys; k++) {
      const hidden = k > at || (slidingWindow !== null && k <= at - slidingWindow) || (m !== undefined && m[b * keys + k] === 0) ||
        (segments !== null && segments[b * queries + k] !== segments[b * queries + q]);
      data[o + k] = hidden ? FLOAT32_MIN : 0;
    }
    for (let g = 1; g < groups; g++) data.copyWithin(o + g * queries * keys, o, o + keys);
  }
  return { data, batch, rows, keys };
}

export class LlamaAttention extends Module {
  readonly qProj: Linear;
  readonly kProj: Linear;
  readonly vProj: Linear;
  readonly oProj: Linear;

  constructor(readonly config: LlamaConfig) {
    super();
    const { hiddenSize: e, numAttentionHeads: h, numKeyValueHeads: kv, headDim: d, qkvBias } = config;
    this.qProj = this.addModule("q_proj", new Linear(e, h * d, { bias: qkvBias }));
    this.kProj = this.addModule("k_proj", new Linear(e, kv * d, { bias: qkvBias }));
    this.vProj = this.addModule("v_proj", new Linear(e, kv * d, { bias: qkvBias }));
    this.oProj = this.addModule("o_proj", new Linear(h * d, e, { bias: config.outputBias }));
  }

  /** x [batch, seq, hidden] -> output, and this layer's keys/values with the past in front. */
  forward(x: Tensor, rope: RopeTable, mask: AdditiveMask, past: LayerPast | undefined): { output: Tensor; present: LayerPast } {
    const [batch, seq] = x.shape;
    const { numAttentionHeads: heads, numKeyValueHeads: kvHeads, headDim } = this.config;
    const query = applyRope(splitHeads(this.qProj.forward(x), heads), rope);
    let key = applyRope(splitHeads(this.kProj.forward(x), kvHeads), rope);
    let value = splitHeads(this.vProj.forward(x), kvHeads);
    if (past) {
      checkLayerPast(past, key);
      key = cat([past.key, key], 2);
      value = cat([past.value, value], 2);
    }
    // Query head h uses kv head h // groups, and those heads are adjacent: [batch, heads, seq, d] read as
    // [batch, kvHeads, groups * seq, d] pairs every query with its kv head without repeating keys.
    const groups = heads / kvHeads;
    // transformers multiplies the scores by float32(head_dim ** -0.5); dividing by its inverse rounds alike.
    const divisor = 1 / Math.fround(headDim ** -0.5);
    const ctx = attend(reshape(query, [batch, kvHeads, groups * seq, headDim]), key, value, mask,
      { divisor, dropoutP: this.config.attentionDropout, training: this.training });
    const output = this.oProj.forward(mergeHeads(reshape(ctx, [batch, heads, seq, headDim])));
    return { output, present: { key, value } };
  }
}
