// The Llama family's registration (../family.ts): Llama, Mistral and Qwen2 checkpoints share its classes and
// key names, and differ only in what their configs select.
import { llamaGguf } from "./gguf.js";
import type { ModelFamily, PeftTargets } from "../family.js";
import { LLAMA_MODEL_TYPES, llamaConfig, type LlamaModelType } from "./config.js";
import { LlamaForCausalLM, LlamaForSequenceClassification } from "./heads.js";
import { LlamaModel } from "./model.js";

// PEFT's, for llama and mistral; qwen2's IA3 scales queries instead of keys.
const LLAMA_TARGETS: PeftTargets = {
  lora: ["q_proj", "v_proj"], ia3: ["k_proj", "v_proj", "down_proj"], ia3Feedforward: ["down_proj"],
  adapter: { attention: "self_attn.o_proj", ffn: "mlp.down_proj" },
};

export const llamaFamily: ModelFamily = {
  name: "llama",
  modelTypes: LLAMA_MODEL_TYPES,
  kind: "decoder",
  classes: { base: LlamaModel, seqCls: LlamaForSequenceClassification, causalLm: LlamaForCausalLM },
  layout: { blocks: "layers", top: ["norm"], embeddings: ["embed_tokens"] },
  peftTargets: {
    llama: LLAMA_TARGETS,
    mistral: LLAMA_TARGETS,
    qwen2: { ...LLAMA_TARGETS, ia3: ["q_proj", "v_proj", "down_proj"] },
  },
  // Tied embeddings: at the small sizes one pretrains here, an untied lm_head would be most of the model.
  freshConfig: (s) => llamaConfig({
    modelType: s.modelType as LlamaModelType, vocabSize: s.vocabSize, hiddenSize: s.hiddenSize, numHiddenLayers: s.numLayers,
    numAttentionHeads: s.numHeads, numKeyValueHeads: s.numHeads, intermediateSize: s.intermediateSize,
    maxPositionEmbeddings: s.maxPositions, tieWordEmbeddings: true, bosTokenId: s.bosTokenId, eosTokenId: s.eosTokenId,
    padTokenId: s.padTokenId, attentionDropout: s.dropout, numLabels: s.numLabels,
  }),
  gguf: llamaGguf,
};
