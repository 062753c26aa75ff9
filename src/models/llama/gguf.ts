// The Llama family in llama.cpp: Llama and Mistral are its "llama" architecture, Qwen2 its "qwen2". llama.cpp's
// "llama" rotates interleaved pairs of a head's dimensions (GPT-J style) where transformers rotates its two halves,
// so the converter reorders the rows of q_proj and k_proj (its LlamaModel.permute) and loading undoes that; "qwen2"
// rotates halves (NEOX style) and keeps the rows as they are.
import { FileFormatError } from "../../io/errors.js";
import { f32, str, u32, type GgufEntry } from "../../io/gguf.js";
import type { ArchMetadata, FamilyGguf, FloatTensor } from "../gguf.js";
import type { RawConfig } from "../config.js";
import type { LlamaConfig } from "./config.js";

const BLOCK = "model.layers.{i}";

// The rows of a head, [first half | second half], become interleaved pairs (x0, x_{d/2}, x1, x_{d/2+1}, ...).
function permuteRows(t: FloatTensor, heads: number, inverse: boolean): FloatTensor {
  const rows = t.shape[0]!;
  const cols = t.values.length / rows;
  const d = rows / heads;
  const half = d / 2;
  const out = new Float32Array(t.values.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const hf = h * d + j * half + i;
        const gg = h * d + 2 * i + j;
        const [from, to] = inverse ? [gg, hf] : [hf, gg];
        out.set(t.values.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return { values: out, shape: t.shape };
}

function rotaryPermutation(hf: string, config: LlamaConfig): number | undefined {
  if (config.modelType === "qwen2") return undefined;
  if (/\.q_proj\.(weight|bias)$/.test(hf)) return config.numAttentionHeads;
  if (/\.k_proj\.(weight|bias)$/.test(hf)) return config.numKeyValueHeads;
  return undefined;
}

// Llama 3's rope scaling reaches llama.cpp as a tensor of per-frequency divisors (the converter's rope_freqs).
function llama3RopeFactors(c: LlamaConfig): FloatTensor | undefined {
  const s = c.ropeScaling;
  if (s?.type !== "llama3") return undefined;
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  const factors = new Float32Array(c.headDim / 2);
  for (let k = 0; k < factors.length; k++) {
    const wavelen = (2 * Math.PI) / (1 / c.ropeTheta ** ((2 * k) / c.headDim));
    if (wavelen < highWavelen) factors[k] = 1;
    else if (wavelen > lowWavelen) factors[k] = s.factor;
    else {
      const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      factors[k] = 1 / ((1 - smooth) / s.factor + smooth);
    }
  }
  return { values: factors, shape: [factors.length] };
}

export const llamaGguf: FamilyGguf = {
  architectures: { llama: "llama", qwen2: "qwen2" },
  architecture(config) {
    const c = config as LlamaConfig;
    // Qwen3 (q/k norms) and Phi-3 (fused projections, partial rotary) are llama.cpp architectures of their
    // own, with tensor maps not written here yet: refused rather than exported as a Llama that drops weights.
    if (!["llama", "mistral", "qwen2"].includes(c.modelType)) throw new Error(`GGUF export of model_type "${c.modelType}" is not supported yet (supported: llama, mistral, qwen2, gpt2)`);
    if (c.hiddenAct !== "silu") throw new Error(`llama.cpp's Llama runs SiLU MLPs; this model's hidden_act is ${c.hiddenAct}`);
    return c.modelType === "qwen2" ? "qwen2" : "llama";
  },
  names: [
    ["model.embed_tokens.weight", "token_embd.weight"],
    ["model.norm.weight", "output_norm.weight"],
    ["lm_head.weight", "output.weight"],
    ...(["weight", "bias"] as const).flatMap((p) => [
      [`${BLOCK}.self_attn.q_proj.${p}`, `blk.{i}.attn_q.${p}`],
      [`${BLOCK}.self_attn.k_proj.${p}`, `blk.{i}.attn_k.${p}`],
      [`${BLOCK}.self_attn.v_proj.${p}`, `blk.{i}.attn_v.${p}`],
      [`${BLOCK}.self_attn.o_proj.${p}`, `blk.{i}.attn_output.${p}`],
      [`${BLOCK}.mlp.gate_proj.${p}`, `blk.{i}.ffn_gate.${p}`],
      [`${BLOCK}.mlp.up_proj.${p}`, `blk.{i}.ffn_up.${p}`],
      [`${BLOCK}.mlp.down_proj.${p}`, `blk.{i}.ffn_down.${p}`],
    ] as const),
    [`${BLOCK}.input_layernorm.weight`, "blk.{i}.attn_norm.weight"],
    [`${BLOCK}.post_attention_layernorm.weight`, "blk.{i}.ffn_norm.weight"],
  ],
  hparams(config) {
    const c = config as LlamaConfig;
    const out: [string, GgufEntry][] = [
      ["block_count", u32(c.numHiddenLayers)],
      ["context_length", u32(c.maxPositionEmbeddings)],
      ["embedding_length", u32(c.hiddenSize)],
      ["feed_forward_length", u32(c.intermediateSize)],
      ["attention.head_count", u32(c.numAttentionHeads)],
      ["attention.head_count_kv", u32(c.numKeyValueHeads)],
      ["rope.freq_base", f32(c.ropeTheta)],
      ["attention.layer_norm_rms_epsilon", f32(c.rmsNormEps)],
    ];
    if (c.raw.head_dim != null || c.headDim * c.numAttentionHeads !== c.hiddenSize) {
      out.push(["attention.key_length", u32(c.headDim)], ["attention.value_length", u32(c.headDim)]);
    }
    out.push(["vocab_size", u32(c.vocabSize)], ["rope.dimension_count", u32(c.headDim)]);
    if (c.ropeScaling?.type === "linear") out.push(["rope.scaling.type", str("linear")], ["rope.scaling.factor", f32(c.ropeScaling.factor)]);
    return out;
  },
  rawConfig(a: ArchMetadata, tensors: ReadonlySet<string>): RawConfig {
    const int = (key: string) => a.number(key, { integer: true, required: true })!;
    const hidden = int("embedding_length");
    const heads = int("attention.head_count");
    const headDim = a.number("attention.key_length", { integer: true }) ?? a.number("rope.dimension_count", { integer: true }) ?? hidden / heads;
    const valueDim = a.number("attention.value_length", { integer: true });
    if (valueDim !== undefined && valueDim !== headDim) throw a.meta.error(`${a.arch}.attention.value_length`, `(${valueDim}) differs from the key length (${headDim}); transformers' Llama needs them equal`);
    const ropeDim = a.number("rope.dimension_count", { integer: true });
    if (ropeDim !== undefined && ropeDim !== headDim) throw a.meta.error(`${a.arch}.rope.dimension_count`, `(${ropeDim}) differs from the head size (${headDim}); partial rotary embeddings are not supported`);
    if (tensors.has("rope_freqs.weight")) throw new FileFormatError(a.meta.file, "tensor rope_freqs.weight (Llama 3 rope scaling) cannot be turned back into a transformers rope_scaling; load the Hugging Face checkpoint instead");
    return {
      hidden_size: hidden,
      intermediate_size: int("feed_forward_length"),
      num_hidden_layers: int("block_count"),
      num_attention_heads: heads,
      num_key_value_heads: a.number("attention.head_count_kv", { integer: true }) ?? heads,
      head_dim: headDim,
      max_position_embeddings: int("context_length"),
      rms_norm_eps: a.number("attention.layer_norm_rms_epsilon", { required: true }),
      rope_theta: a.number("rope.freq_base") ?? 10000,
      rope_scaling: ropeScaling(a),
      hidden_act: "silu",
      tie_word_embeddings: !tensors.has("output.weight"),
      attention_bias: a.arch === "llama" && tensors.has("blk.0.attn_q.bias"),
      mlp_bias: tensors.has("blk.0.ffn_up.bias"),
    };
  },
  toGguf(hf, t, config) {
    const heads = rotaryPermutation(hf, config as LlamaConfig);
    return heads ? permuteRows(t, heads, false) : t;
  },
  fromGguf(hf, t, config) {
    const heads = rotaryPermutation(hf, config as LlamaConfig);
    return heads ? permuteRows(t, heads, true) : t;
  },
  extraTensors(_tensors, config) {
    const factors = llama3RopeFactors(config as LlamaConfig);
    return factors ? [["rope_freqs.weight", factors]] : [];
  },
};

function ropeScaling(a: ArchMetadata): RawConfig["rope_scaling"] {
  const type = a.string("rope.scaling.type");
  if (type === undefined || type === "none") return null;
  if (type === "linear") return { type: "linear", factor: a.number("rope.scaling.factor", { required: true }) };
  throw a.meta.error(`${a.arch}.rope.scaling.type`, `is "${type}", which is not supported (supported: none, linear)`);
}
