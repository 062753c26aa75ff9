// BERT's registration (../family.ts): its classes, where its layers are, and its PEFT defaults.
import type { ModelFamily } from "../family.js";
import { bertConfig } from "./config.js";
import { BertForMaskedLM } from "./masked-lm.js";
import { BertForSequenceClassification, BertModel } from "./modeling.js";

export const bertFamily: ModelFamily = {
  name: "bert",
  modelTypes: ["bert"],
  kind: "encoder",
  classes: { base: BertModel, seqCls: BertForSequenceClassification, maskedLm: BertForMaskedLM },
  layout: { blocks: "encoder.layer", top: ["pooler"], embeddings: ["embeddings"] },
  peftTargets: {
    // PEFT's. "output.dense" is a plain suffix of attention.output.dense too, so IA3 scales the input of both.
    // The adapters' two places are both "output.dense"; the feed-forward one sits directly under the block.
    bert: {
      lora: ["query", "value"], ia3: ["key", "value", "output.dense"], ia3Feedforward: ["output.dense"],
      adapter: { attention: "attention.output.dense", ffn: "output.dense" },
    },
  },
  freshConfig: (s) => bertConfig({
    vocabSize: s.vocabSize, hiddenSize: s.hiddenSize, numHiddenLayers: s.numLayers, numAttentionHeads: s.numHeads,
    intermediateSize: s.intermediateSize, maxPositionEmbeddings: s.maxPositions, padTokenId: s.padTokenId,
    hiddenDropoutProb: s.dropout, attentionProbsDropoutProb: s.dropout, numLabels: s.numLabels,
  }),
};
