// BertConfig: config.json of model_type "bert".
import {
  ACTIVATION_NAMES, LIMITS, applyLabelOverrides, camelToRaw, checkDivisible, checkModelType, configError, labelsToRaw,
  parseLabels, parseSchema, schemaToRaw, type FromSchema, type LabelConfig, type RawConfig, type Schema,
} from "../config.js";
import { ACTIVATION_MEMORY, type ModelShape } from "../size.js";

/** BertConfig's fields. RoBERTa's config is this schema with its own token ids (../roberta/config.ts). */
export const BERT_SCHEMA = {
  vocabSize: { key: "vocab_size", kind: "int", min: 1, max: LIMITS.vocab },
  hiddenSize: { key: "hidden_size", kind: "int", min: 1, max: LIMITS.hidden },
  numHiddenLayers: { key: "num_hidden_layers", kind: "int", min: 1, max: LIMITS.layers },
  numAttentionHeads: { key: "num_attention_heads", kind: "int", min: 1, max: LIMITS.heads },
  intermediateSize: { key: "intermediate_size", kind: "int", min: 1, max: LIMITS.ffn },
  hiddenAct: { key: "hidden_act", kind: "string", default: "gelu", oneOf: ACTIVATION_NAMES },
  hiddenDropoutProb: { key: "hidden_dropout_prob", kind: "float", default: 0.1, min: 0, below: 1 },
  attentionProbsDropoutProb: { key: "attention_probs_dropout_prob", kind: "float", default: 0.1, min: 0, below: 1 },
  maxPositionEmbeddings: { key: "max_position_embeddings", kind: "int", default: 512, min: 1, max: LIMITS.positions },
  typeVocabSize: { key: "type_vocab_size", kind: "int", default: 2, min: 1, max: LIMITS.vocab },
  initializerRange: { key: "initializer_range", kind: "float", default: 0.02, min: 0 },
  layerNormEps: { key: "layer_norm_eps", kind: "float", default: 1e-12, min: 0, below: 1 },
  padTokenId: { key: "pad_token_id", kind: "int", default: 0, nullable: true, min: 0 },
  positionEmbeddingType: { key: "position_embedding_type", kind: "string", default: "absolute", oneOf: ["absolute"] },
  classifierDropout: { key: "classifier_dropout", kind: "float", default: null, nullable: true, min: 0, below: 1 },
  isDecoder: { key: "is_decoder", kind: "bool", default: false },
  addCrossAttention: { key: "add_cross_attention", kind: "bool", default: false },
} as const satisfies Schema;

/** The fields BERT's embeddings and blocks read, which every model built from them (RoBERTa) has. */
export type BertLayersConfig = FromSchema<typeof BERT_SCHEMA>;

export type BertConfig = BertLayersConfig & LabelConfig & {
  readonly modelType: "bert";
  readonly raw: RawConfig;
};

export function parseBertConfig(raw: RawConfig, file: string): BertConfig {
  checkModelType(raw, file, "bert");
  const c = { ...parseSchema(raw, file, BERT_SCHEMA), ...parseLabels(raw, file), modelType: "bert" as const, raw };
  checkBertLayers(c, file, "BERT");
  return c;
}

/** The relations between fields that BERT's layers need; `name` is the family in messages. */
export function checkBertLayers(c: BertLayersConfig, file: string, name: string): void {
  checkDivisible(file, "hidden_size", c.hiddenSize, "num_attention_heads", c.numAttentionHeads);
  if (c.padTokenId !== null && c.padTokenId >= c.vocabSize)
    throw configError(file, "pad_token_id", `(${c.padTokenId}) must be below vocab_size (${c.vocabSize})`);
  if (c.isDecoder) throw configError(file, "is_decoder", `is true: ${name} as a decoder is not supported (encoder only)`);
  if (c.addCrossAttention) throw configError(file, "add_cross_attention", "is true: cross-attention is not supported");
}

/** A config built in code from camelCase fields (validated like a file). */
export function bertConfig(fields: Partial<BertLayersConfig> & { numLabels?: number } = {}): BertConfig {
  const { numLabels, ...rest } = fields;
  const raw = applyLabelOverrides({ model_type: "bert", ...camelToRaw(rest, BERT_SCHEMA) }, { numLabels });
  return parseBertConfig(raw, "<bertConfig>");
}

/** The sizes a config describes, for the memory checks (../size.ts). */
export function bertShape(c: BertLayersConfig & LabelConfig): ModelShape {
  return {
    vocabSize: c.vocabSize, hiddenSize: c.hiddenSize, numLayers: c.numHiddenLayers, numHeads: c.numAttentionHeads,
    numKeyValueHeads: c.numAttentionHeads, headDim: c.hiddenSize / c.numAttentionHeads, intermediateSize: c.intermediateSize,
    maxPositions: c.maxPositionEmbeddings, positionEmbeddings: c.maxPositionEmbeddings, typeVocabSize: c.typeVocabSize,
    ffnMatrices: 2, biases: true, normsPerLayer: 4,
    // The embeddings' LayerNorm and the pooler.
    otherParameters: 2 * c.hiddenSize + c.hiddenSize * c.hiddenSize + c.hiddenSize,
    numLabels: c.numLabels, tiedEmbeddings: true, activations: ACTIVATION_MEMORY.encoder,
  };
}

export function bertConfigDict(c: BertConfig): RawConfig {
  return { ...schemaToRaw(c, BERT_SCHEMA), ...labelsToRaw(c), model_type: "bert" };
}
