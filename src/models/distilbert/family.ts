// DistilBERT's registration (../family.ts): its classes, where its layers are, and its PEFT defaults.
import type { ModelFamily } from "../family.js";
import { distilBertConfig } from "./config.js";
import { DistilBertForMaskedLM } from "./masked-lm.js";
import { DistilBertForSequenceClassification, DistilBertModel } from "./modeling.js";

export const distilBertFamily: ModelFamily = {
  name: "distilbert",
  modelTypes: ["distilbert"],
  kind: "encoder",
  classes: { base: DistilBertModel, seqCls: DistilBertForSequenceClassification, maskedLm: DistilBertForMaskedLM },
  layout: { blocks: "transformer.layer", top: [], embeddings: ["embeddings"] },
  peftTargets: {
    // PEFT has no DistilBERT entry; these follow its BERT choices: query and value for LoRA; key, value and the
    // feed-forward output for IA3.
    distilbert: {
      lora: ["q_lin", "v_lin"], ia3: ["k_lin", "v_lin", "lin2"], ia3Feedforward: ["lin2"],
      adapter: { attention: "attention.out_lin", ffn: "ffn.lin2" },
    },
  },
  freshConfig: (s) => distilBertConfig({
    vocabSize: s.vocabSize, dim: s.hiddenSize, nLayers: s.numLayers, nHeads: s.numHeads, hiddenDim: s.intermediateSize,
    maxPositionEmbeddings: s.maxPositions, padTokenId: s.padTokenId, dropout: s.dropout, attentionDropout: s.dropout, numLabels: s.numLabels,
  }),
};
