// GPT-2's config.json (transformers GPT2Config), typed and checked.
import {
  ACTIVATION_NAMES, LIMITS, applyLabelOverrides, camelToRaw, checkDivisible, checkModelType, labelsToRaw, parseLabels,
  parseSchema, schemaToRaw,
} from "../config.js";
import type { FromSchema, LabelConfig, RawConfig, Schema } from "../config.js";
import { ACTIVATION_MEMORY, type ModelShape } from "../size.js";

const prob = (key: string) => ({ key, kind: "float", default: 0.1, min: 0, below: 1 }) as const;
const tokenId = (key: string, def: number | null) => ({ key, kind: "int", default: def, nullable: true, min: 0 }) as const;

export const GPT2_SCHEMA = {
  vocabSize: { key: "vocab_size", kind: "int", default: 50257, min: 1, max: LIMITS.vocab },
  nPositions: { key: "n_positions", kind: "int", default: 1024, min: 1, max: LIMITS.positions },
  nEmbd: { key: "n_embd", kind: "int", default: 768, min: 1, max: LIMITS.hidden },
  nLayer: { key: "n_layer", kind: "int", default: 12, min: 1, max: LIMITS.layers },
  nHead: { key: "n_head", kind: "int", default: 12, min: 1, max: LIMITS.heads },
  /** null means 4 * n_embd. */
  nInner: { key: "n_inner", kind: "int", default: null, nullable: true, min: 1, max: LIMITS.ffn },
  activationFunction: { key: "activation_function", kind: "string", default: "gelu_new", oneOf: ACTIVATION_NAMES },
  residPdrop: prob("resid_pdrop"),
  embdPdrop: prob("embd_pdrop"),
  attnPdrop: prob("attn_pdrop"),
  layerNormEpsilon: { key: "layer_norm_epsilon", kind: "float", default: 1e-5, min: 0 },
  initializerRange: { key: "initializer_range", kind: "float", default: 0.02, min: 0 },
  scaleAttnWeights: { key: "scale_attn_weights", kind: "bool", default: true },
  scaleAttnByInverseLayerIdx: { key: "scale_attn_by_inverse_layer_idx", kind: "bool", default: false },
  tieWordEmbeddings: { key: "tie_word_embeddings", kind: "bool", default: true },
  bosTokenId: tokenId("bos_token_id", 50256),
  eosTokenId: tokenId("eos_token_id", 50256),
  padTokenId: tokenId("pad_token_id", null),
} as const satisfies Schema;

export type GPT2Config = FromSchema<typeof GPT2_SCHEMA> & LabelConfig & {
  readonly modelType: "gpt2";
  readonly raw: RawConfig;
  /** n_inner resolved. */
  readonly innerSize: number;
  readonly headDim: number;
};

export function parseGPT2Config(raw: RawConfig, file: string): GPT2Config {
  checkModelType(raw, file, "gpt2");
  const s = parseSchema(raw, file, GPT2_SCHEMA);
  checkDivisible(file, "n_embd", s.nEmbd, "n_head", s.nHead);
  return {
    ...s,
    ...parseLabels(raw, file),
    modelType: "gpt2",
    raw,
    innerSize: s.nInner ?? 4 * s.nEmbd,
    headDim: s.nEmbd / s.nHead,
  };
}

/** A config built in code from camelCase fields (validated like a file). */
export function gpt2Config(fields: Partial<FromSchema<typeof GPT2_SCHEMA>> & { numLabels?: number } = {}): GPT2Config {
  const { numLabels, ...rest } = fields;
  const raw = applyLabelOverrides({ model_type: "gpt2", ...camelToRaw(rest, GPT2_SCHEMA) }, { numLabels });
  return parseGPT2Config(raw, "<gpt2Config>");
}

/** The sizes a config describes, for the memory checks (../size.ts). */
export function gpt2Shape(c: GPT2Config): ModelShape {
  return {
    vocabSize: c.vocabSize, hiddenSize: c.nEmbd, numLayers: c.nLayer, numHeads: c.nHead, numKeyValueHeads: c.nHead,
    headDim: c.headDim, intermediateSize: c.innerSize, maxPositions: c.nPositions, positionEmbeddings: c.nPositions,
    typeVocabSize: 0, ffnMatrices: 2, biases: true, normsPerLayer: 4,
    otherParameters: 2 * c.nEmbd, // ln_f
    numLabels: c.numLabels, tiedEmbeddings: c.tieWordEmbeddings, activations: ACTIVATION_MEMORY.decoder,
  };
}

export function gpt2ConfigDict(c: GPT2Config): RawConfig {
  return { ...schemaToRaw(c, GPT2_SCHEMA), ...labelsToRaw(c), model_type: "gpt2" };
}
