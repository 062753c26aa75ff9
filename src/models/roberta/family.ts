// RoBERTa's registration (../family.ts): RoBERTa and XLM-RoBERTa checkpoints share its classes and key names.
import type { ModelFamily, PeftTargets } from "../family.js";
import { ROBERTA_MODEL_TYPES, robertaConfig, type RobertaModelType } from "./config.js";
import { RobertaForMaskedLM } from "./masked-lm.js";
import { RobertaForSequenceClassification, RobertaModel } from "./modeling.js";

// PEFT's for roberta. PEFT lists xlm-roberta for LoRA (the same query, value) but has no IA3 entry for it; the
// modules are RoBERTa's, so it gets RoBERTa's IA3 targets too. "output.dense" is a plain suffix of
// attention.output.dense as well, so IA3 scales the input of both, as for BERT.
const ROBERTA_TARGETS: PeftTargets = {
  lora: ["query", "value"], ia3: ["key", "value", "output.dense"], ia3Feedforward: ["output.dense"],
  adapter: { attention: "attention.output.dense", ffn: "output.dense" },
};

export const robertaFamily: ModelFamily = {
  name: "roberta",
  modelTypes: ROBERTA_MODEL_TYPES,
  kind: "encoder",
  classes: { base: RobertaModel, seqCls: RobertaForSequenceClassification, maskedLm: RobertaForMaskedLM },
  layout: { blocks: "encoder.layer", top: ["pooler"], embeddings: ["embeddings"] },
  peftTargets: { roberta: ROBERTA_TARGETS, "xlm-roberta": ROBERTA_TARGETS },
  // Positions start after padding_idx, so the table holds maxPositions + pad + 1 rows (roberta-base: 512 + 2).
  // Without a tokenizer pad id, RobertaConfig's default (1). The rest are RobertaConfig's defaults, two token types
  // included: the WordPiece tokenizer `pretrain --arch` trains gives a text pair's second half type 1.
  freshConfig: (s) => {
    const pad = s.padTokenId ?? 1;
    return robertaConfig({
      modelType: s.modelType as RobertaModelType, vocabSize: s.vocabSize, hiddenSize: s.hiddenSize, numHiddenLayers: s.numLayers,
      numAttentionHeads: s.numHeads, intermediateSize: s.intermediateSize, maxPositionEmbeddings: s.maxPositions + pad + 1,
      padTokenId: pad, bosTokenId: s.bosTokenId, eosTokenId: s.eosTokenId,
      hiddenDropoutProb: s.dropout, attentionProbsDropoutProb: s.dropout, numLabels: s.numLabels,
    });
  },
};
