// DistilBertConfig: config.json of model_type "distilbert".
import {
  ACTIVATION_NAMES, LIMITS, applyLabelOverrides, camelToRaw, checkDivisible, checkModelType, configError, labelsToRaw,
  parseLabels, parseSchema, schemaToRaw, type FromSchema, type LabelConfig, type RawConfig, type Schema,
} from "../config.js";
import { ACTIVATION_MEMORY, type ModelShape } from "../size.js";

const SCHEMA = {
  vocabSize: { key: "vocab_size", kind: "int", min: 1, max: LIMITS.vocab },
  dim: { key: "dim", kind: "int", min: 1, max: LIMITS.hidden },
  nLayers: { key: "n_layers", kind: "int", min: 1, max: LIMITS.layers },
  nHeads: { key: "n_heads", kind: "int", min: 1, max: LIMITS.heads },
  hiddenDim: { key: "hidden_dim", kind: "int", min: 1, max: LIMITS.ffn },
  maxPositionEmbeddings: { key: "max_position_embeddings", kind: "int", default: 512, min: 1, max: LIMITS.positions },
  activation: { key: "activation", kind: "string", default: "gelu", oneOf: ACTIVATION_NAMES },
  dropout: { key: "dropout", kind: "float", default: 0.1, min: 0, below: 1 },
  attentionDropout: { key: "attention_dropout", kind: "float", default: 0.1, min: 0, below: 1 },
  seqClassifDropout: { key: "seq_classif_dropout", kind: "float", default: 0.2, min: 0, below: 1 },
  sinusoidalPosEmbds: { key: "sinusoidal_pos_embds", kind: "bool", default: false },
  padTokenId: { key: "pad_token_id", kind: "int", default: 0, nullable: true, min: 0 },
  initializerRange: { key: "initializer_range", kind: "float", default: 0.02, min: 0 },
} as const satisfies Schema;

export type DistilBertConfig = FromSchema<typeof SCHEMA> & LabelConfig & {
  readonly modelType: "distilbert";
  readonly raw: RawConfig;
};

export function parseDistilBertConfig(raw: RawConfig, file: string): DistilBertConfig {
  checkModelType(raw, file, "distilbert");
  const c = { ...parseSchema(raw, file, SCHEMA), ...parseLabels(raw, file), modelType: "distilbert" as const, raw };
  checkDivisible(file, "dim", c.dim, "n_heads", c.nHeads);
  if (c.padTokenId !== null && c.padTokenId >= c.vocabSize)
    throw configError(file, "pad_token_id", `(${c.padTokenId}) must be below vocab_size (${c.vocabSize})`);
  return c;
}

/** A config built in code from camelCase fields (validated like a file). */
export function distilBertConfig(fields: Partial<FromSchema<typeof SCHEMA>> & { numLabels?: number } = {}): DistilBertConfig {
  const { numLabels, ...rest } = fields;
  const raw = applyLabelOverrides({ model_type: "distilbert", ...camelToRaw(rest, SCHEMA) }, { numLabels });
  return parseDistilBertConfig(raw, "<distilBertConfig>");
}

/** The sizes a config describes, for the memory checks (../size.ts). */
export function distilBertShape(c: DistilBertConfig): ModelShape {
  return {
    vocabSize: c.vocabSize, hiddenSize: c.dim, numLayers: c.nLayers, numHeads: c.nHeads, numKeyValueHeads: c.nHeads,
    headDim: c.dim / c.nHeads, intermediateSize: c.hiddenDim, maxPositions: c.maxPositionEmbeddings,
    positionEmbeddings: c.maxPositionEmbeddings, typeVocabSize: 0, ffnMatrices: 2, biases: true, normsPerLayer: 4,
    // The embeddings' LayerNorm and the classifier's pre_classifier.
    otherParameters: 2 * c.dim + c.dim * c.dim + c.dim,
    numLabels: c.numLabels, tiedEmbeddings: true, activations: ACTIVATION_MEMORY.encoder,
  };
}

export function distilBertConfigDict(c: DistilBertConfig): RawConfig {
  return { ...schemaToRaw(c, SCHEMA), ...labelsToRaw(c), model_type: "distilbert" };
}
