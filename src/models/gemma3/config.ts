// config.json of Gemma 3 text models (transformers Gemma3TextConfig, model_type gemma3_text) and Gemma 2
// (Gemma2Config), typed and checked. One architecture: Gemma 3 adds q/k norms and a second RoPE base for its
// sliding-window layers, Gemma 2 caps attention scores and logits with tanh and scales embeddings in the model.
import {
  ACTIVATION_NAMES, LIMITS, applyLabelOverrides, camelToRaw, configError, labelsToRaw, parseLabels, parseSchema,
  schemaToRaw,
} from "../config.js";
import type { FromSchema, LabelConfig, RawConfig, Schema } from "../config.js";
import { llamaShape, parseEos, parseRopeScaling, type RopeScaling } from "../llama/config.js";
import type { ModelShape } from "../size.js";

export const GEMMA_MODEL_TYPES = ["gemma3_text", "gemma2"] as const;
export type GemmaModelType = (typeof GEMMA_MODEL_TYPES)[number];

export const LAYER_TYPES = ["sliding_attention", "full_attention"] as const;
export type LayerType = (typeof LAYER_TYPES)[number];

interface FamilyDefaults {
  vocab: number; positions: number; ropeTheta: number; finalSoftcap: number | null; attnSoftcap: number | null;
}

const DEFAULTS: Record<GemmaModelType, FamilyDefaults> = {
  gemma3_text: { vocab: 262_208, positions: 131_072, ropeTheta: 1_000_000, finalSoftcap: null, attnSoftcap: null },
  gemma2: { vocab: 256_000, positions: 8192, ropeTheta: 10_000, finalSoftcap: 30, attnSoftcap: 50 },
};

/** Gemma 3 without layer_types: every sliding_window_pattern-th layer is full. Gemma 2 reads no pattern: it alternates. */
const GEMMA3_PATTERN = 6, GEMMA2_PATTERN = 2;
const GEMMA3_LOCAL_THETA = 10_000;

function schemaFor(d: FamilyDefaults) {
  const tokenId = (key: string, def: number | null) => ({ key, kind: "int", default: def, nullable: true, min: 0 }) as const;
  const cap = (key: string, def: number | null) => ({ key, kind: "float", default: def, nullable: true, min: Number.MIN_VALUE }) as const;
  return {
    vocabSize: { key: "vocab_size", kind: "int", default: d.vocab, min: 1, max: LIMITS.vocab },
    hiddenSize: { key: "hidden_size", kind: "int", default: 2304, min: 1, max: LIMITS.hidden },
    intermediateSize: { key: "intermediate_size", kind: "int", default: 9216, min: 1, max: LIMITS.ffn },
    numHiddenLayers: { key: "num_hidden_layers", kind: "int", default: 26, min: 1, max: LIMITS.layers },
    numAttentionHeads: { key: "num_attention_heads", kind: "int", default: 8, min: 1, max: LIMITS.heads },
    numKeyValueHeads: { key: "num_key_value_heads", kind: "int", default: 4, min: 1, max: LIMITS.heads },
    /** Explicit: Gemma's is not hidden_size / num_attention_heads (gemma-3-270m: 640 / 4 heads of 256). */
    headDim: { key: "head_dim", kind: "int", default: 256, min: 2, max: LIMITS.hidden },
    hiddenAct: { key: "hidden_activation", kind: "string", default: "gelu_pytorch_tanh", oneOf: ACTIVATION_NAMES },
    maxPositionEmbeddings: { key: "max_position_embeddings", kind: "int", default: d.positions, min: 1, max: LIMITS.positions },
    initializerRange: { key: "initializer_range", kind: "float", default: 0.02, min: 0 },
    rmsNormEps: { key: "rms_norm_eps", kind: "float", default: 1e-6, min: 0 },
    ropeTheta: { key: "rope_theta", kind: "float", default: d.ropeTheta, min: Number.MIN_VALUE },
    attentionBias: { key: "attention_bias", kind: "bool", default: false },
    attentionDropout: { key: "attention_dropout", kind: "float", default: 0, min: 0, below: 1 },
    /** Scores are multiplied by query_pre_attn_scalar ** -0.5 (not head_dim ** -0.5). */
    queryPreAttnScalar: { key: "query_pre_attn_scalar", kind: "float", default: 256, min: Number.MIN_VALUE },
    slidingWindow: { key: "sliding_window", kind: "int", default: 4096, min: 1, max: LIMITS.positions },
    finalLogitSoftcapping: cap("final_logit_softcapping", d.finalSoftcap),
    attnLogitSoftcapping: cap("attn_logit_softcapping", d.attnSoftcap),
    tieWordEmbeddings: { key: "tie_word_embeddings", kind: "bool", default: true },
    padTokenId: tokenId("pad_token_id", 0),
    bosTokenId: tokenId("bos_token_id", 2),
  } as const satisfies Schema;
}

type ParsedSchema = FromSchema<ReturnType<typeof schemaFor>>;

export type GemmaConfig = ParsedSchema & LabelConfig & {
  readonly modelType: GemmaModelType;
  readonly raw: RawConfig;
  /** Per layer: sliding layers see the last slidingWindow keys (themselves included), full layers all. */
  readonly layerTypes: readonly LayerType[];
  /** RoPE of the full-attention layers (every layer for Gemma 2): theta and scaling. */
  readonly ropeScaling: RopeScaling | null;
  /** Gemma 3: the RoPE theta of the sliding layers (rope_local_base_freq), unscaled; null: they share the global one. */
  readonly ropeLocalTheta: number | null;
  /** Gemma 3: q_norm and k_norm over each head before RoPE. */
  readonly qkNorm: boolean;
  /** Gemma 3 scales inside its embedding module (prompts fed as inputsEmbeds stay unscaled); Gemma 2 scales
   *  whatever enters the model. */
  readonly embeddingScaledInModule: boolean;
  /** The attention and MLP read these (Llama's names for attention_bias); the MLP has no biases, no projection is fused. */
  readonly qkvBias: boolean;
  readonly outputBias: boolean;
  readonly mlpBias: false;
  readonly fusedProjections: false;
  readonly eosTokenId: number | number[] | null;
};

export function parseGemmaConfig(raw: RawConfig, file: string): GemmaConfig {
  const modelType = raw.model_type ?? "gemma3_text";
  if (!GEMMA_MODEL_TYPES.includes(modelType as GemmaModelType))
    throw configError(file, "model_type", `is ${JSON.stringify(modelType)}; the Gemma family covers ${GEMMA_MODEL_TYPES.join(", ")}`);
  const type = modelType as GemmaModelType;
  const s = parseSchema(raw, file, schemaFor(DEFAULTS[type]));
  if (s.numAttentionHeads % s.numKeyValueHeads !== 0)
    throw configError(file, "num_key_value_heads", `(${s.numKeyValueHeads}) must divide num_attention_heads (${s.numAttentionHeads})`);
  if (s.headDim % 2 !== 0) throw configError(file, "head_dim", `(${s.headDim}) must be even for rotary embeddings`);
  if (raw.use_bidirectional_attention === true)
    throw configError(file, "use_bidirectional_attention", "is true; bidirectional Gemma attention (EmbeddingGemma) is not supported");
  const gemma3 = type === "gemma3_text";
  const rope = parseRope(raw, file, gemma3, s.ropeTheta);
  return {
    ...s,
    ...parseLabels(raw, file),
    ...rope,
    modelType: type,
    raw,
    layerTypes: parseLayerTypes(raw, file, s.numHiddenLayers, gemma3),
    qkNorm: gemma3,
    embeddingScaledInModule: gemma3,
    qkvBias: s.attentionBias,
    outputBias: s.attentionBias,
    mlpBias: false,
    fusedProjections: false,
    eosTokenId: parseEos(raw.eos_token_id === undefined ? 1 : raw.eos_token_id, file),
  };
}

function parseLayerTypes(raw: RawConfig, file: string, layers: number, gemma3: boolean): LayerType[] {
  const given = raw.layer_types;
  if (given !== undefined && given !== null) {
    if (!Array.isArray(given) || given.length !== layers || !given.every((t) => LAYER_TYPES.includes(t as LayerType)))
      throw configError(file, "layer_types", `must list ${layers} entries (num_hidden_layers), each "sliding_attention" or "full_attention"`);
    return given as LayerType[];
  }
  let pattern = GEMMA2_PATTERN;
  if (gemma3) {
    const p = raw.sliding_window_pattern ?? GEMMA3_PATTERN;
    if (!Number.isInteger(p) || (p as number) < 1)
      throw configError(file, "sliding_window_pattern", `must be a positive integer, got ${JSON.stringify(p)}`);
    pattern = p as number;
  }
  return Array.from({ length: layers }, (_, i) => ((i + 1) % pattern === 0 ? "full_attention" : "sliding_attention"));
}

type RopeFields = Pick<GemmaConfig, "ropeTheta" | "ropeScaling" | "ropeLocalTheta">;

/** The RoPE of both layer kinds: rope_theta + rope_scaling (global) and rope_local_base_freq (Gemma 3's sliding
 *  layers), or transformers 5's rope_parameters: per layer type for Gemma 3, one object for Gemma 2. */
function parseRope(raw: RawConfig, file: string, gemma3: boolean, ropeTheta: number): RopeFields {
  const local = raw.rope_local_base_freq ?? GEMMA3_LOCAL_THETA;
  if (typeof local !== "number" || !(local > 0)) throw configError(file, "rope_local_base_freq", `must be a positive number, got ${JSON.stringify(local)}`);
  const out = { ropeTheta, ropeScaling: parseRopeScaling(raw.rope_scaling, file), ropeLocalTheta: gemma3 ? local : null };
  const params = raw.rope_parameters;
  if (params === undefined || params === null) return out;
  if (typeof params !== "object" || Array.isArray(params)) throw configError(file, "rope_parameters", "must be an object or null");
  const p = params as Record<string, unknown>;
  const perType = gemma3 && ("full_attention" in p || "sliding_attention" in p);
  const read = (v: unknown, field: string, theta: number) => {
    if (v === undefined || v === null) return { theta, scaling: null };
    const t = (v as Record<string, unknown>).rope_theta ?? theta;
    if (typeof t !== "number" || !(t > 0)) throw configError(file, `${field}.rope_theta`, `must be a positive number, got ${JSON.stringify(t)}`);
    return { theta: t, scaling: parseRopeScaling(v, file, field) };
  };
  const full = read(perType ? p.full_attention : p, perType ? "rope_parameters.full_attention" : "rope_parameters", ropeTheta);
  out.ropeTheta = full.theta;
  out.ropeScaling = full.scaling;
  if (perType) {
    const sliding = read(p.sliding_attention, "rope_parameters.sliding_attention", local);
    if (sliding.scaling) throw configError(file, "rope_parameters.sliding_attention", "scales RoPE; Gemma 3's sliding layers use the default RoPE");
    out.ropeLocalTheta = sliding.theta;
  }
  return out;
}

/** A config built in code from camelCase fields (validated like a file); modelType defaults to "gemma3_text". */
export function gemmaConfig(fields: Partial<ParsedSchema> & {
  modelType?: GemmaModelType; numLabels?: number; eosTokenId?: number | number[] | null; layerTypes?: LayerType[];
  slidingWindowPattern?: number; ropeLocalBaseFreq?: number; ropeScaling?: Record<string, unknown>;
} = {}): GemmaConfig {
  const { modelType = "gemma3_text", numLabels, eosTokenId, layerTypes, slidingWindowPattern, ropeLocalBaseFreq, ropeScaling, ...rest } = fields;
  const raw: RawConfig = { model_type: modelType, ...camelToRaw(rest, schemaFor(DEFAULTS[modelType])) };
  const extra: RawConfig = { eos_token_id: eosTokenId, layer_types: layerTypes, sliding_window_pattern: slidingWindowPattern,
    rope_local_base_freq: ropeLocalBaseFreq, rope_scaling: ropeScaling };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) raw[k] = v;
  return parseGemmaConfig(applyLabelOverrides(raw, { numLabels }), "<gemmaConfig>");
}

/** Soft-capped attention runs op by op and keeps about 16 more bytes per score for backward (the capped scores
 *  and the probabilities) than the fused kernel (measured as ../size.ts's profiles, within the noise of the pool). */
const CAPPED_SCORE_BYTES = 24;

/** The sizes a config describes, for the memory checks (../size.ts): Llama's (q/k norms included), with two more
 *  norms a block. */
export function gemmaShape(c: GemmaConfig): ModelShape {
  const shape = llamaShape(c);
  return { ...shape, normsPerLayer: shape.normsPerLayer + 2,
    activations: c.attnLogitSoftcapping ? { ...shape.activations, c: CAPPED_SCORE_BYTES } : shape.activations };
}

/** config.json: every field as transformers reads it, layer_types spelled out. */
export function gemmaConfigDict(c: GemmaConfig): RawConfig {
  const out: RawConfig = { ...schemaToRaw(c, schemaFor(DEFAULTS[c.modelType])), ...labelsToRaw(c), eos_token_id: c.eosTokenId,
    layer_types: [...c.layerTypes], model_type: c.modelType };
  if (c.ropeLocalTheta !== null) out.rope_local_base_freq = c.ropeLocalTheta;
  return out;
}
