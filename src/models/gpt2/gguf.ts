// GPT-2 in llama.cpp (architecture "gpt2"). Its Conv1D weights are stored transposed ([in, out]); llama.cpp wants
// them as [out, in] like every other linear layer, so the converter transposes them, and it writes the tied output
// projection as its own tensor, a copy of the token embeddings.
import { f32, u32 } from "../../io/gguf.js";
import type { ArchMetadata, FamilyGguf, FloatTensor } from "../gguf.js";
import type { RawConfig } from "../config.js";
import type { GPT2Config } from "./config.js";

const BLOCK = "transformer.h.{i}";
const CONV1D = /\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
// llama.cpp's gpt2 runs the tanh approximation of GELU.
const GELU_TANH = ["gelu_new", "gelu_pytorch_tanh", "gelu_fast"];

function transpose(t: FloatTensor): FloatTensor {
  const [rows, cols] = t.shape as [number, number];
  const out = new Float32Array(t.values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = t.values[r * cols + c]!;
  return { values: out, shape: [cols, rows] };
}

export const gpt2Gguf: FamilyGguf = {
  architectures: { gpt2: "gpt2" },
  architecture(config) {
    const c = config as GPT2Config;
    if (!GELU_TANH.includes(c.activationFunction)) throw new Error(`llama.cpp's GPT-2 runs tanh-approximated GELU; this model's activation_function is ${c.activationFunction}`);
    if (c.scaleAttnByInverseLayerIdx || !c.scaleAttnWeights) throw new Error("llama.cpp's GPT-2 scales attention by 1/sqrt(head size) only; this model's scale_attn_weights / scale_attn_by_inverse_layer_idx differ");
    if (!c.tieWordEmbeddings) throw new Error("llama.cpp's GPT-2 ties its output projection to the token embeddings; this model's tie_word_embeddings is false");
    return "gpt2";
  },
  names: [
    ["transformer.wte.weight", "token_embd.weight"],
    ["transformer.wpe.weight", "position_embd.weight"],
    ["transformer.ln_f.weight", "output_norm.weight"],
    ["transformer.ln_f.bias", "output_norm.bias"],
    ...(["weight", "bias"] as const).flatMap((p) => [
      [`${BLOCK}.ln_1.${p}`, `blk.{i}.attn_norm.${p}`],
      [`${BLOCK}.attn.c_attn.${p}`, `blk.{i}.attn_qkv.${p}`],
      [`${BLOCK}.attn.c_proj.${p}`, `blk.{i}.attn_output.${p}`],
      [`${BLOCK}.ln_2.${p}`, `blk.{i}.ffn_norm.${p}`],
      [`${BLOCK}.mlp.c_fc.${p}`, `blk.{i}.ffn_up.${p}`],
      [`${BLOCK}.mlp.c_proj.${p}`, `blk.{i}.ffn_down.${p}`],
    ] as const),
  ],
  hparams(config) {
    const c = config as GPT2Config;
    return [
      ["block_count", u32(c.nLayer)],
      ["context_length", u32(c.nPositions)],
      ["embedding_length", u32(c.nEmbd)],
      ["feed_forward_length", u32(c.innerSize)],
      ["attention.head_count", u32(c.nHead)],
      ["attention.layer_norm_epsilon", f32(c.layerNormEpsilon)],
    ];
  },
  rawConfig(a: ArchMetadata): RawConfig {
    const int = (key: string) => a.number(key, { integer: true, required: true })!;
    return {
      n_layer: int("block_count"),
      n_positions: int("context_length"),
      n_embd: int("embedding_length"),
      n_inner: int("feed_forward_length"),
      n_head: int("attention.head_count"),
      layer_norm_epsilon: a.number("attention.layer_norm_epsilon", { required: true }),
      activation_function: "gelu_new",
      tie_word_embeddings: true,
    };
  },
  toGguf: (hf, t) => (CONV1D.test(hf) ? transpose(t) : t),
  fromGguf: (hf, t) => (CONV1D.test(hf) ? transpose(t) : t),
  ignoredOnLoad: ["output.weight"],
  extraTensors: (tensors) => [["output.weight", tensors.get("token_embd.weight")!]],
};
