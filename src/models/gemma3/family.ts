// The Gemma family's registration (../family.ts): Gemma 3 text models and Gemma 2 share its classes and key
// names; their configs select q/k norms, the RoPE bases, soft-capping and where embeddings are scaled.
import { checkDivisible } from "../config.js";
import type { ModelFamily, PeftTargets } from "../family.js";
import { GEMMA_MODEL_TYPES, gemmaConfig, type GemmaModelType } from "./config.js";
import { Gemma3ForCausalLM, Gemma3ForSequenceClassification } from "./heads.js";
import { Gemma3TextModel } from "./model.js";

// PEFT's mappings for gemma2 and gemma3_text (IA3 scales queries, as for qwen2). The adapter places are ours:
// after each sub-layer's output projection, before its post-norm.
const GEMMA_TARGETS: PeftTargets = {
  lora: ["q_proj", "v_proj"], ia3: ["q_proj", "v_proj", "down_proj"], ia3Feedforward: ["down_proj"],
  adapter: { attention: "self_attn.o_proj", ffn: "mlp.down_proj" },
};

export const gemma3Family: ModelFamily = {
  name: "gemma3",
  modelTypes: GEMMA_MODEL_TYPES,
  kind: "decoder",
  classes: { base: Gemma3TextModel, seqCls: Gemma3ForSequenceClassification, causalLm: Gemma3ForCausalLM },
  layout: { blocks: "layers", top: ["norm"], embeddings: ["embed_tokens"] },
  peftTargets: { gemma3_text: GEMMA_TARGETS, gemma2: GEMMA_TARGETS },
  // The released models' proportions: query_pre_attn_scalar = head_dim, tied embeddings; the rest (sliding window
  // 4096, Gemma 3's every-sixth-layer-full pattern, Gemma 2's soft-capping) are transformers' defaults.
  freshConfig: (s) => {
    checkDivisible("<freshConfig>", "hidden_size", s.hiddenSize, "num_attention_heads", s.numHeads);
    const headDim = s.hiddenSize / s.numHeads;
    return gemmaConfig({
      modelType: s.modelType as GemmaModelType, vocabSize: s.vocabSize, hiddenSize: s.hiddenSize, numHiddenLayers: s.numLayers,
      numAttentionHeads: s.numHeads, numKeyValueHeads: s.numKvHeads ?? s.numHeads, headDim, queryPreAttnScalar: headDim,
      intermediateSize: s.intermediateSize, maxPositionEmbeddings: s.maxPositions, tieWordEmbeddings: true,
      bosTokenId: s.bosTokenId, eosTokenId: s.eosTokenId, padTokenId: s.padTokenId, attentionDropout: s.dropout, numLabels: s.numLabels,
    });
  },
};
