// BertConfig: config.json of model_type "bert".
import {
  ACTIVATION_NAMES, LIMITS, applyLabelOverrides, camelToRaw, checkDivisible, checkModelType, configError, labelsToRaw,
  parseLabels, parseSchema, schemaToRaw, type FromSchema, type LabelConfig, type RawConfig, type Schema,
} from "../config.js";
import { ACTIVATION_MEMORY, type ModelShape } from "../size.js";

const SCHEMA = {
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

export type BertConfig = FromSchema<typeof SCHEMA> & LabelConfig & {
  readonly modelType: "bert";
  readonly raw: RawConfig;
};

export function parseBertConfig(raw: RawConfig, file: string): BertConfig {
  checkModelType(raw, file, "bert");
  const c = { ...parseSchema(raw, file, SCHEMA), ...parseLabels(raw, file), modelType: "bert" as const, raw };
  checkDivisible(file, "hidden_size", c.hiddenSize, "num_attention_heads", c.numAttentionHeads);
  if (c.padTokenId !== null && c.padTokenId >= c.vocabSize)
    throw configError(file, "pad_token_id", `(${c.padTokenId}) must be below vocab_size (${c.vocabSize})`);
  if (c.isDecoder) throw configError(file, "is_decoder", "is true: BERT as a decoder is not supported (encoder only)");
  if (c.addCrossAttention) throw configError(file, "add_cross_attention", "is true: cross-attention is not supported");
  return c;
}

/** A config built in code from camelCase fields (validated like a file). */
export function bertConfig(fields: Partial<FromSchema<typeof SCHEMA>> & { numLabels?: number } = {}): BertConfig {
  const { numLabels, ...rest } = fields;
  const raw = applyLabelOverrides({ model_type: "bert", ...camelToRaw(rest, SCHEMA) }, { numLabels });
  return parseBertConfig(raw, "<bertConfig>");
}

/** The sizes a config describes, for the memory checks (../size.ts). */
export function bertShape(c: BertConfig): ModelShape {
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
  return { ...schemaToRaw(c, SCHEMA), ...labelsToRaw(c), model_type: "bert" };
}
