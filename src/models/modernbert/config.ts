// ModernBertConfig: config.json of model_type "modernbert". transformers 4.48-4.5x write the rotary bases as
// global_rope_theta / local_rope_theta; later releases write layer_types and rope_parameters per layer type. Both
// are read; what the two would disagree on is refused rather than guessed.
import {
  ACTIVATION_NAMES, LIMITS, applyLabelOverrides, camelToRaw, checkDivisible, checkModelType, configError, labelsToRaw,
  parseLabels, parseSchema, schemaToRaw, type FromSchema, type LabelConfig, type RawConfig, type Schema,
} from "../config.js";
import { ACTIVATION_MEMORY, type ModelShape } from "../size.js";

const tokenId = (key: string, def: number) => ({ key, kind: "int", default: def, nullable: true, min: 0 }) as const;
const probability = (key: string) => ({ key, kind: "float", default: 0, min: 0, below: 1 }) as const;

const SCHEMA = {
  vocabSize: { key: "vocab_size", kind: "int", default: 50368, min: 1, max: LIMITS.vocab },
  hiddenSize: { key: "hidden_size", kind: "int", default: 768, min: 1, max: LIMITS.hidden },
  intermediateSize: { key: "intermediate_size", kind: "int", default: 1152, min: 1, max: LIMITS.ffn },
  numHiddenLayers: { key: "num_hidden_layers", kind: "int", default: 22, min: 1, max: LIMITS.layers },
  numAttentionHeads: { key: "num_attention_heads", kind: "int", default: 12, min: 1, max: LIMITS.heads },
  hiddenActivation: { key: "hidden_activation", kind: "string", default: "gelu", oneOf: ACTIVATION_NAMES },
  maxPositionEmbeddings: { key: "max_position_embeddings", kind: "int", default: 8192, min: 1, max: LIMITS.positions },
  initializerRange: { key: "initializer_range", kind: "float", default: 0.02, min: 0 },
  initializerCutoffFactor: { key: "initializer_cutoff_factor", kind: "float", default: 2, nullable: true, min: Number.MIN_VALUE },
  normEps: { key: "norm_eps", kind: "float", default: 1e-5, min: 0, below: 1 },
  normBias: { key: "norm_bias", kind: "bool", default: false },
  padTokenId: tokenId("pad_token_id", 50283),
  eosTokenId: tokenId("eos_token_id", 50282),
  bosTokenId: tokenId("bos_token_id", 50281),
  clsTokenId: tokenId("cls_token_id", 50281),
  sepTokenId: tokenId("sep_token_id", 50282),
  globalRopeTheta: { key: "global_rope_theta", kind: "float", default: 160000, min: Number.MIN_VALUE },
  /** null: the local layers rotate with global_rope_theta too. */
  localRopeTheta: { key: "local_rope_theta", kind: "float", default: 10000, nullable: true, min: Number.MIN_VALUE },
  attentionBias: { key: "attention_bias", kind: "bool", default: false },
  attentionDropout: probability("attention_dropout"),
  /** Layer i attends globally when i % this == 0, within the sliding window otherwise. */
  globalAttnEveryNLayers: { key: "global_attn_every_n_layers", kind: "int", default: 3, min: 1, max: LIMITS.layers },
  /** The whole window: a token sees the tokens at most local_attention // 2 positions away on either side. */
  localAttention: { key: "local_attention", kind: "int", default: 128, min: 0, max: LIMITS.positions },
  embeddingDropout: probability("embedding_dropout"),
  mlpBias: { key: "mlp_bias", kind: "bool", default: false },
  mlpDropout: probability("mlp_dropout"),
  decoderBias: { key: "decoder_bias", kind: "bool", default: true },
  classifierPooling: { key: "classifier_pooling", kind: "string", default: "cls", oneOf: ["cls", "mean"] },
  classifierDropout: probability("classifier_dropout"),
  /** head.dense's bias (the classifier itself always has one). */
  classifierBias: { key: "classifier_bias", kind: "bool", default: false },
  classifierActivation: { key: "classifier_activation", kind: "string", default: "gelu", oneOf: ACTIVATION_NAMES },
  /** ModernBertForMaskedLM with labels returns logits of the labelled positions only; forward here always returns
   *  every position's (the loss is the same), and maskedLoss is the sparse path. */
  sparsePrediction: { key: "sparse_prediction", kind: "bool", default: false },
  tieWordEmbeddings: { key: "tie_word_embeddings", kind: "bool", default: true },
} as const satisfies Schema;

type Parsed = FromSchema<typeof SCHEMA>;

export type ModernBertConfig = Omit<Parsed, "localRopeTheta"> & LabelConfig & {
  readonly modelType: "modernbert";
  readonly raw: RawConfig;
  readonly headDim: number;
  /** local_rope_theta, or global_rope_theta where that is null. */
  readonly localRopeTheta: number;
};

export function parseModernBertConfig(raw: RawConfig, file: string): ModernBertConfig {
  checkModelType(raw, file, "modernbert");
  const s = parseSchema(raw, file, SCHEMA);
  checkDivisible(file, "hidden_size", s.hiddenSize, "num_attention_heads", s.numAttentionHeads);
  const headDim = s.hiddenSize / s.numAttentionHeads;
  if (headDim % 2 !== 0) throw configError(file, "hidden_size", `/ num_attention_heads (${headDim}) must be even for rotary embeddings`);
  // The default is ModernBERT-base's id; a smaller vocabulary must name its own (nn.Embedding's padding_idx).
  if (s.padTokenId !== null && s.padTokenId >= s.vocabSize)
    throw configError(file, "pad_token_id", `(${s.padTokenId}) must be below vocab_size (${s.vocabSize})`);
  if (raw.rope_scaling !== undefined && raw.rope_scaling !== null)
    throw configError(file, "rope_scaling", "is set; scaled rotary embeddings are not supported for ModernBERT");
  checkLayerTypes(raw.layer_types, file, s.numHiddenLayers, s.globalAttnEveryNLayers);
  const theta = ropeParameters(raw.rope_parameters, file);
  return {
    ...s,
    ...parseLabels(raw, file),
    modelType: "modernbert",
    raw,
    headDim,
    globalRopeTheta: theta.full_attention ?? s.globalRopeTheta,
    localRopeTheta: theta.sliding_attention ?? s.localRopeTheta ?? theta.full_attention ?? s.globalRopeTheta,
  };
}

/** Newer transformers list each layer's kind; the sliding window still follows global_attn_every_n_layers there,
 *  so a list that departs from that pattern would rotate and mask by different rules. */
function checkLayerTypes(v: unknown, file: string, layers: number, every: number): void {
  if (v === undefined || v === null) return;
  const expected = Array.from({ length: layers }, (_, i) => (i % every === 0 ? "full_attention" : "sliding_attention"));
  if (!Array.isArray(v) || v.length !== layers || v.some((t, i) => t !== expected[i]))
    throw configError(file, "layer_types", `must be ${layers} entries following global_attn_every_n_layers (${every}): ` +
      `${JSON.stringify(expected)}; other layouts are not supported`);
}

/** rope_parameters: { full_attention?: {rope_type: "default", rope_theta}, sliding_attention?: {...} }. */
function ropeParameters(v: unknown, file: string): { full_attention?: number; sliding_attention?: number } {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw configError(file, "rope_parameters", "must be an object keyed by layer type");
  const out: { full_attention?: number; sliding_attention?: number } = {};
  for (const [kind, p] of Object.entries(v as Record<string, unknown>)) {
    const field = `rope_parameters.${kind}`;
    if (kind !== "full_attention" && kind !== "sliding_attention") throw configError(file, field, "is not a ModernBERT layer type (full_attention, sliding_attention)");
    if (p === null) continue;
    const r = p as Record<string, unknown>;
    if (typeof p !== "object" || (r.rope_type ?? "default") !== "default")
      throw configError(file, field, `has rope_type ${JSON.stringify(r?.rope_type)}; only "default" rotary embeddings are supported`);
    if (r.rope_theta === undefined) continue;
    if (typeof r.rope_theta !== "number" || !(r.rope_theta > 0)) throw configError(file, `${field}.rope_theta`, `must be a positive number, got ${JSON.stringify(r.rope_theta)}`);
    out[kind] = r.rope_theta;
  }
  return out;
}

/** A config built in code from camelCase fields (validated like a file). */
export function modernBertConfig(fields: Partial<Parsed> & { numLabels?: number } = {}): ModernBertConfig {
  const { numLabels, ...rest } = fields;
  const raw = applyLabelOverrides({ model_type: "modernbert", ...camelToRaw(rest, SCHEMA) }, { numLabels });
  return parseModernBertConfig(raw, "<modernBertConfig>");
}

/** Whether layer i attends globally (else within the sliding window, with the local rotary base). */
export function isGlobalLayer(c: ModernBertConfig, i: number): boolean {
  return i % c.globalAttnEveryNLayers === 0;
}

/** The sizes a config describes, for the memory checks (../size.ts). Pre-norm blocks with a gated MLP, like
 *  Llama's: Wi is the gate and up projections in one matrix. */
export function modernBertShape(c: ModernBertConfig): ModelShape {
  const h = c.hiddenSize, norm = c.normBias ? 2 : 1;
  return {
    vocabSize: c.vocabSize, hiddenSize: h, numLayers: c.numHiddenLayers, numHeads: c.numAttentionHeads,
    numKeyValueHeads: c.numAttentionHeads, headDim: c.headDim, intermediateSize: c.intermediateSize,
    maxPositions: c.maxPositionEmbeddings, positionEmbeddings: 0, typeVocabSize: 0, ffnMatrices: 3,
    biases: c.attentionBias || c.mlpBias, normsPerLayer: 2 * norm,
    // The embeddings' norm, the final norm, and the prediction head (dense and norm) both heads have.
    otherParameters: 3 * norm * h + h * h,
    numLabels: c.numLabels, tiedEmbeddings: c.tieWordEmbeddings, activations: ACTIVATION_MEMORY.gatedDecoder,
  };
}

export function modernBertConfigDict(c: ModernBertConfig): RawConfig {
  const raw: RawConfig = { ...schemaToRaw(c, SCHEMA), ...labelsToRaw(c), model_type: "modernbert" };
  // Written back as read: null stays null (the local layers then use the global base).
  raw.local_rope_theta = c.raw.local_rope_theta === null ? null : c.localRopeTheta;
  return raw;
}
