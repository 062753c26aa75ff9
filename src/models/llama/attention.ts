// Llama-family self-attention: q/k/v projections (Phi-3: one fused qkv_proj), the RMSNorm of each query and key
// head (Qwen3, Gemma 3), RoPE on queries and new keys (never on past or prefix keys), grouped-query attention and
// a causal + padding (+ sliding-window) mask. Gemma's attention is this one with the variations of AttentionVariant.
import { Linear, Module, RMSNorm } from "../../nn/index.js";
import { Tensor, reshape, split } from "../../tensor/index.js";
import { FLOAT32_MIN, attend, mergeHeads, splitHeads, type AdditiveMask } from "../attention.js";
import { withPast } from "../kv-cache.js";
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

/** The config fields the attention reads (a Gemma config has them too). */
export type AttentionConfig = Pick<LlamaConfig, "hiddenSize" | "numAttentionHeads" | "numKeyValueHeads" | "headDim" |
  "qkvBias" | "outputBias" | "attentionDropout" | "qkNorm" | "rmsNormEps" | "fusedProjections">;

/** Where a family's attention departs from Llama's. */
export interface AttentionVariant {
  /** Multiplies q·kᵀ (Gemma: query_pre_attn_scalar ** -0.5); default head_dim ** -0.5. */
  scaling?: number;
  /** Gemma 2: scores become cap·tanh(scores / cap) before the mask. */
  softcap?: number | null;
  /** Gemma: the q/k norms scale by (1 + weight), as all its RMSNorms do. */
  unitOffsetNorms?: boolean;
}

export class LlamaAttention extends Module {
  readonly qProj?: Linear;
  readonly kProj?: Linear;
  readonly vProj?: Linear;
  readonly oProj: Linear;
  /** Phi-3: q_proj | k_proj | v_proj as one layer, registered after o_proj as transformers does. */
  readonly qkvProj?: Linear;
  readonly qNorm?: RMSNorm;
  readonly kNorm?: RMSNorm;
  private readonly divisor: number;
  private readonly softcap: number | null;

  constructor(readonly config: AttentionConfig, variant: AttentionVariant = {}) {
    super();
    const { hiddenSize: e, numAttentionHeads: h, numKeyValueHeads: kv, headDim: d, qkvBias } = config;
    if (config.fusedProjections) {
      this.oProj = this.addModule("o_proj", new Linear(h * d, e, { bias: config.outputBias }));
      this.qkvProj = this.addModule("qkv_proj", new Linear(e, (h + 2 * kv) * d, { bias: qkvBias }));
    } else {
      this.qProj = this.addModule("q_proj", new Linear(e, h * d, { bias: qkvBias }));
      this.kProj = this.addModule("k_proj", new Linear(e, kv * d, { bias: qkvBias }));
      this.vProj = this.addModule("v_proj", new Linear(e, kv * d, { bias: qkvBias }));
      this.oProj = this.addModule("o_proj", new Linear(h * d, e, { bias: config.outputBias }));
    }
    if (config.qkNorm) {
      const norm = () => new RMSNorm(d, config.rmsNormEps, { unitOffset: variant.unitOffsetNorms ?? false });
      this.qNorm = this.addModule("q_norm", norm());
      this.kNorm = this.addModule("k_norm", norm());
    }
    // transformers multiplies the scores by float32(scaling); dividing by its inverse rounds alike.
    this.divisor = 1 / Math.fround(variant.scaling ?? d ** -0.5);
    this.softcap = variant.softcap ?? null;
  }

  /** Queries, keys and values [batch, seq, heads * headDim], before RoPE. */
  private project(x: Tensor): Tensor[] {
    const { numAttentionHeads: h, numKeyValueHeads: kv, headDim: d } = this.config;
    if (this.qkvProj) return split(this.qkvProj.forward(x), [h * d, kv * d, kv * d], -1);
    return [this.qProj!.forward(x), this.kProj!.forward(x), this.vProj!.forward(x)];
  }

  /** x [batch, seq, hidden] -> output, and this layer's keys/values with the past in front. */
  forward(x: Tensor, rope: RopeTable, mask: AdditiveMask, past: LayerPast | undefined): { output: Tensor; present: LayerPast } {
    const [batch, seq] = x.shape;
    const { numAttentionHeads: heads, numKeyValueHeads: kvHeads, headDim } = this.config;
    const [q, k, v] = this.project(x);
    // The q/k norms act on each head's headDim values, so they apply to the split heads alike.
    const norm = (t: Tensor, n: RMSNorm | undefined) => (n ? n.forward(t) : t);
    const query = applyRope(norm(splitHeads(q, heads), this.qNorm), rope);
    const present = withPast(past, applyRope(norm(splitHeads(k, kvHeads), this.kNorm), rope), splitHeads(v, kvHeads));
    // Query head h uses kv head h // groups, and those heads are adjacent: [batch, heads, seq, d] read as
    // [batch, kvHeads, groups * seq, d] pairs every query with its kv head without repeating keys.
    const groups = heads / kvHeads;
    const ctx = attend(reshape(query, [batch, kvHeads, groups * seq, headDim]), present.key, present.value, mask,
      { divisor: this.divisor, softcap: this.softcap, dropoutP: this.config.attentionDropout, training: this.training, keys: present.length });
    const output = this.oProj.forward(mergeHeads(reshape(ctx, [batch, heads, seq, headDim])));
    return { output, present };
  }
}
