// The Llama family's registration (../family.ts): Llama, Mistral, Qwen2, Qwen3 and Phi-3 checkpoints share its
// classes, layout and head names, and differ only in what their configs select (./config.ts). Qwen3 and Phi-3 are
// model types here rather than families of their own because transformers builds them from the same decoder
// (modular_qwen3 and modular_phi3 subclass Llama/Qwen2 and Mistral modules): a folder each would repeat the model,
// the heads and the config parsing for two config switches (qk-norm; fused projections and partial RoPE).
import { llamaGguf } from "./gguf.js";
import type { ModelFamily, PeftTargets } from "../family.js";
import { LLAMA_MODEL_TYPES, llamaConfig, type LlamaModelType } from "./config.js";
import { LlamaForCausalLM, LlamaForSequenceClassification } from "./heads.js";
import { LlamaModel } from "./model.js";

// PEFT's, for llama and mistral; qwen2's and qwen3's IA3 scales queries instead of keys.
const LLAMA_TARGETS: PeftTargets = {
  lora: ["q_proj", "v_proj"], ia3: ["k_proj", "v_proj", "down_proj"], ia3Feedforward: ["down_proj"],
  adapter: { attention: "self_attn.o_proj", ffn: "mlp.down_proj" },
};
const QWEN_TARGETS: PeftTargets = { ...LLAMA_TARGETS, ia3: ["q_proj", "v_proj", "down_proj"] };
// PEFT has no phi3 entries; ours follow PEFT's defaults for other fused-qkv models (gpt2 c_attn, codegen qkv_proj,
// gpt_neox query_key_value): LoRA on the fused q|k|v projection, IA3 on it and on the MLP's output projection.
const PHI3_TARGETS: PeftTargets = { ...LLAMA_TARGETS, lora: ["qkv_proj"], ia3: ["qkv_proj", "down_proj"] };

export const llamaFamily: ModelFamily = {
  name: "llama",
  modelTypes: LLAMA_MODEL_TYPES,
  kind: "decoder",
  classes: { base: LlamaModel, seqCls: LlamaForSequenceClassification, causalLm: LlamaForCausalLM },
  layout: { blocks: "layers", top: ["norm"], embeddings: ["embed_tokens"] },
  peftTargets: {
    llama: LLAMA_TARGETS,
    mistral: LLAMA_TARGETS,
    qwen2: QWEN_TARGETS,
    qwen3: QWEN_TARGETS,
    phi3: PHI3_TARGETS,
  },
  // Tied embeddings: at the small sizes one pretrains here, an untied lm_head would be most of the model. head_dim
  // is hidden / heads, as transformers sets it when a config leaves it out (Qwen3's default is 128 instead).
  freshConfig: (s) => llamaConfig({
    modelType: s.modelType as LlamaModelType, vocabSize: s.vocabSize, hiddenSize: s.hiddenSize, numHiddenLayers: s.numLayers,
    numAttentionHeads: s.numHeads, numKeyValueHeads: s.numKvHeads ?? s.numHeads, headDim: s.hiddenSize / s.numHeads, intermediateSize: s.intermediateSize,
    maxPositionEmbeddings: s.maxPositions, tieWordEmbeddings: true, bosTokenId: s.bosTokenId, eosTokenId: s.eosTokenId,
    padTokenId: s.padTokenId, attentionDropout: s.dropout, numLabels: s.numLabels,
  }),
  gguf: llamaGguf,
};
