// ModernBERT's registration (../family.ts): its classes, where its layers are, and its PEFT defaults.
import type { ModelFamily } from "../family.js";
import { modernBertConfig } from "./config.js";
import { ModernBertForMaskedLM, ModernBertForSequenceClassification } from "./heads.js";
import { ModernBertModel } from "./modeling.js";

export const modernBertFamily: ModelFamily = {
  name: "modernbert",
  modelTypes: ["modernbert"],
  kind: "encoder",
  classes: { base: ModernBertModel, seqCls: ModernBertForSequenceClassification, maskedLm: ModernBertForMaskedLM },
  layout: { blocks: "layers", top: ["final_norm"], embeddings: ["embeddings"] },
  peftTargets: {
    // PEFT has no modernbert entries; ours follow what it chose for the other fused-qkv models. LoRA: the fused
    // projection alone (mpt's "Wqkv", gpt2's "c_attn", falcon's "query_key_value"), which holds BERT's default
    // query and value. IA3: that projection and the MLP's output, whose input is scaled (gpt2's "c_attn" and
    // "mlp.c_proj"). "Wo" alone would name both the attention's and the MLP's output, hence "mlp.Wo".
    modernbert: {
      lora: ["Wqkv"], ia3: ["Wqkv", "mlp.Wo"], ia3Feedforward: ["mlp.Wo"],
      adapter: { attention: "attn.Wo", ffn: "mlp.Wo" },
    },
  },
  // ModernBERT's own window (128) and rotary bases; cls and sep are the bos and eos ids, as in its tokenizer.
  freshConfig: (s) => modernBertConfig({
    vocabSize: s.vocabSize, hiddenSize: s.hiddenSize, numHiddenLayers: s.numLayers, numAttentionHeads: s.numHeads,
    intermediateSize: s.intermediateSize, maxPositionEmbeddings: s.maxPositions, padTokenId: s.padTokenId,
    bosTokenId: s.bosTokenId, eosTokenId: s.eosTokenId, clsTokenId: s.bosTokenId, sepTokenId: s.eosTokenId,
    attentionDropout: s.dropout, embeddingDropout: s.dropout, mlpDropout: s.dropout, classifierDropout: s.dropout,
    numLabels: s.numLabels,
  }),
};
