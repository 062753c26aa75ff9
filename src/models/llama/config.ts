// config.json of the Llama family (transformers LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config, Phi3Config),
// typed and checked. They share one architecture (transformers' modular files derive each from Llama or Mistral);
// they differ in defaults, in which linear layers carry biases, in Mistral's and Phi-3's sliding-window attention,
// in Qwen3's RMSNorm of each query and key head, and in Phi-3's fused projections, partial rotary embeddings and
// residual dropout. The switches below say which a model type has.
import {
  ACTIVATION_NAMES, LIMITS, applyLabelOverrides, camelToRaw, checkDivisible, configError, labelsToRaw, parseLabels,
  parseSchema, schemaToRaw,
} from "../config.js";
import type { FromSchema, LabelConfig, RawConfig, Schema } from "../config.js";
import { ACTIVATION_MEMORY, type ModelShape } from "../size.js";

export const LLAMA_MODEL_TYPES = ["llama", "mistral", "qwen2", "qwen3", "phi3"] as const;
export type LlamaModelType = (typeof LLAMA_MODEL_TYPES)[number];

/** RoPE frequency scalings: "linear" divides every frequency by factor; "llama3" only the long wavelengths,
 *  blending in between (transformers' _compute_llama3_parameters). */
export type RopeScaling =
  | { type: "linear"; factor: number }
  | { type: "llama3"; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number };

interface FamilyDefaults {
  vocab: number; hidden: number; intermediate: number; layers: number; heads: number; kvHeads: number | null;
  positions: number; bos: number | null; eos: number | null; pad: number | null; headDim: number | null; eps: number;
}

const COMMON = { pad: null, headDim: null, eps: 1e-6 } as const;
const DEFAULTS: Record<LlamaModelType, FamilyDefaults> = {
  llama: { ...COMMON, vocab: 32000, hidden: 4096, intermediate: 11008, layers: 32, heads: 32, kvHeads: null, positions: 2048, bos: 1, eos: 2 },
  mistral: { ...COMMON, vocab: 32000, hidden: 4096, intermediate: 14336, layers: 32, heads: 32, kvHeads: 8, positions: 4096 * 32, bos: 1, eos: 2 },
  qwen2: { ...COMMON, vocab: 151936, hidden: 4096, intermediate: 22016, layers: 32, heads: 32, kvHeads: 32, positions: 32768, bos: null, eos: null },
  qwen3: { ...COMMON, vocab: 151936, hidden: 4096, intermediate: 22016, layers: 32, heads: 32, kvHeads: 32, positions: 32768, bos: null, eos: null,
    headDim: 128 },
  phi3: { vocab: 32064, hidden: 3072, intermediate: 8192, layers: 32, heads: 32, kvHeads: null, positions: 4096, bos: 1, eos: 32000,
    pad: 32000, headDim: null, eps: 1e-5 },
};

/** Phi-3's own fields (config.json has them for phi3 only; other types behave as their defaults). */
const PHI3_FIELDS = {
  /** Dropout on each block's attention and MLP outputs before the residual sum (training only). */
  residPdrop: { key: "resid_pdrop", kind: "float", default: 0, min: 0, below: 1 },
  /** The share of each head's dims that RoPE rotates (Phi-4-mini: 0.75). */
  partialRotaryFactor: { key: "partial_rotary_factor", kind: "float", default: 1, min: Number.MIN_VALUE, max: 1 },
} as const satisfies Schema;
type Phi3Fields = FromSchema<typeof PHI3_FIELDS>;

function schemaFor(d: FamilyDefaults) {
  const tokenId = (key: string, def: number | null) => ({ key, kind: "int", default: def, nullable: true, min: 0 }) as const;
  return {
    vocabSize: { key: "vocab_size", kind: "int", default: d.vocab, min: 1, max: LIMITS.vocab },
    hiddenSize: { key: "hidden_size", kind: "int", default: d.hidden, min: 1, max: LIMITS.hidden },
    intermediateSize: { key: "intermediate_size", kind: "int", default: d.intermediate, min: 1, max: LIMITS.ffn },
    numHiddenLayers: { key: "num_hidden_layers", kind: "int", default: d.layers, min: 1, max: LIMITS.layers },
    numAttentionHeads: { key: "num_attention_heads", kind: "int", default: d.heads, min: 1, max: LIMITS.heads },
    /** null means num_attention_heads (plain multi-head attention). */
    numKeyValueHeads: { key: "num_key_value_heads", kind: "int", default: d.kvHeads, nullable: true, min: 1, max: LIMITS.heads },
    /** null means hidden_size / num_attention_heads. */
    headDim: { key: "head_dim", kind: "int", default: d.headDim, nullable: true, min: 1, max: LIMITS.hidden },
    hiddenAct: { key: "hidden_act", kind: "string", default: "silu", oneOf: ACTIVATION_NAMES },
    maxPositionEmbeddings: { key: "max_position_embeddings", kind: "int", default: d.positions, min: 1, max: LIMITS.positions },
    initializerRange: { key: "initializer_range", kind: "float", default: 0.02, min: 0 },
    rmsNormEps: { key: "rms_norm_eps", kind: "float", default: d.eps, min: 0 },
    ropeTheta: { key: "rope_theta", kind: "float", default: 10000, min: Number.MIN_VALUE },
    attentionBias: { key: "attention_bias", kind: "bool", default: false },
    attentionDropout: { key: "attention_dropout", kind: "float", default: 0, min: 0, below: 1 },
    mlpBias: { key: "mlp_bias", kind: "bool", default: false },
    tieWordEmbeddings: { key: "tie_word_embeddings", kind: "bool", default: false },
    padTokenId: tokenId("pad_token_id", d.pad),
    bosTokenId: tokenId("bos_token_id", d.bos),
  } as const satisfies Schema;
}

type ParsedSchema = FromSchema<ReturnType<typeof schemaFor>>;

export type LlamaConfig = Omit<ParsedSchema, "numKeyValueHeads" | "headDim"> & Phi3Fields & LabelConfig & {
  readonly modelType: LlamaModelType;
  readonly raw: RawConfig;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  /** Biases on q_proj/k_proj/v_proj (Qwen2 always; Llama and Qwen3 with attention_bias). */
  readonly qkvBias: boolean;
  /** Bias on o_proj (Llama and Qwen3 with attention_bias; never Qwen2). */
  readonly outputBias: boolean;
  /** Qwen3: q_norm and k_norm, an RMSNorm over head_dim applied to every query and key head before RoPE. */
  readonly qkNorm: boolean;
  /** Phi-3: one qkv_proj (queries, then keys, then values) and one gate_up_proj (gate, then up). */
  readonly fusedProjections: boolean;
  /** The leading dims of each head that RoPE rotates: head_dim, or int(head_dim * partial_rotary_factor). */
  readonly rotaryDim: number;
  readonly ropeScaling: RopeScaling | null;
  /** Mistral and Phi-3: a query sees only the last slidingWindow keys (itself included). */
  readonly slidingWindow: number | null;
  /** A list when the model has several end tokens (Llama 3). */
  readonly eosTokenId: number | number[] | null;
};

export function parseLlamaConfig(raw: RawConfig, file: string): LlamaConfig {
  const modelType = raw.model_type ?? "llama";
  if (!LLAMA_MODEL_TYPES.includes(modelType as LlamaModelType))
    throw configError(file, "model_type", `is ${JSON.stringify(modelType)}; the Llama family covers ${LLAMA_MODEL_TYPES.join(", ")}`);
  const type = modelType as LlamaModelType;
  const { fields, scaling } = readRopeParameters(raw, file);
  const s = parseSchema(fields, file, schemaFor(DEFAULTS[type]));
  const numKeyValueHeads = s.numKeyValueHeads ?? s.numAttentionHeads;
  if (s.numAttentionHeads % numKeyValueHeads !== 0)
    throw configError(file, "num_key_value_heads", `(${numKeyValueHeads}) must divide num_attention_heads (${s.numAttentionHeads})`);
  if (s.headDim === null) checkDivisible(file, "hidden_size", s.hiddenSize, "num_attention_heads", s.numAttentionHeads);
  const headDim = s.headDim ?? s.hiddenSize / s.numAttentionHeads;
  if (headDim % 2 !== 0) throw configError(file, "head_dim", `(${headDim}) must be even for rotary embeddings`);
  const phi3 = type === "phi3" ? parseSchema(fields, file, PHI3_FIELDS) : PHI3_DEFAULTS;
  const rotaryDim = Math.floor(headDim * phi3.partialRotaryFactor);
  if (rotaryDim < 2 || rotaryDim % 2 !== 0)
    throw configError(file, "partial_rotary_factor", `(${phi3.partialRotaryFactor}) rotates ${rotaryDim} of head_dim ${headDim} dims; that must be even and at least 2`);
  const biased = type === "llama" || type === "qwen3";
  return {
    ...s,
    ...phi3,
    ...parseLabels(raw, file),
    modelType: type,
    raw,
    numKeyValueHeads,
    headDim,
    qkvBias: type === "qwen2" || (biased && s.attentionBias),
    outputBias: biased && s.attentionBias,
    mlpBias: type === "llama" && s.mlpBias,
    qkNorm: type === "qwen3",
    fusedProjections: type === "phi3",
    rotaryDim,
    ropeScaling: parseRopeScaling(scaling.value, file, scaling.field, type === "phi3" ? PHI3_ROPE : undefined),
    slidingWindow: parseSlidingWindow(raw, file, type),
    eosTokenId: parseEos(raw.eos_token_id === undefined ? DEFAULTS[type].eos : raw.eos_token_id, file),
  };
}

export function parseEos(v: unknown, file: string): number | number[] | null {
  const ok = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0;
  if (v === null || ok(v)) return v;
  if (Array.isArray(v) && v.length > 0 && v.every(ok)) return v;
  throw configError(file, "eos_token_id", `must be a token id, a list of token ids or null, got ${JSON.stringify(v)}`);
}

function parseSlidingWindow(raw: RawConfig, file: string, type: LlamaModelType): number | null {
  if (type === "llama") return null;
  if (type === "qwen2" || type === "qwen3") {
    // Qwen windows only the layers from max_window_layers on; that per-layer mix is not implemented.
    if (raw.use_sliding_window === true)
      throw configError(file, "use_sliding_window", "is true; Qwen sliding-window attention is not supported (set it to false to use full attention)");
    return null;
  }
  // Mistral defaults to a 4096-token window; Phi-3 to none (Phi-3-mini's config.json sets 2047).
  const w = raw.sliding_window === undefined ? (type === "mistral" ? 4096 : null) : raw.sliding_window;
  if (w === null) return null;
  if (!Number.isInteger(w) || (w as number) < 1) throw configError(file, "sliding_window", `must be a positive integer or null, got ${JSON.stringify(w)}`);
  return w as number;
}

/** transformers 5 writes rope_theta, the scaling type with its factors and Phi-3's partial_rotary_factor in one
 *  rope_parameters object, where older releases wrote top-level fields (rope_scaling for the scaling). Both
 *  spellings load: the fields to parse with rope_parameters' values moved to the top level (a value given both
 *  ways with different numbers is refused), and the scaling with the field it came from. */
function readRopeParameters(raw: RawConfig, file: string): { fields: RawConfig; scaling: { value: unknown; field: string } } {
  const p = raw.rope_parameters;
  const old = { value: raw.rope_scaling, field: "rope_scaling" };
  if (p === undefined || p === null) return { fields: raw, scaling: old };
  if (typeof p !== "object" || Array.isArray(p)) throw configError(file, "rope_parameters", "must be an object or null");
  const { rope_theta, partial_rotary_factor, ...rest } = p as Record<string, unknown>;
  const fields = { ...raw };
  for (const [key, v] of [["rope_theta", rope_theta], ["partial_rotary_factor", partial_rotary_factor]] as const) {
    if (v === undefined) continue;
    if (fields[key] !== undefined && fields[key] !== v)
      throw configError(file, `rope_parameters.${key}`, `(${JSON.stringify(v)}) disagrees with ${key} (${JSON.stringify(fields[key])})`);
    fields[key] = v;
  }
  const typed = (rest.rope_type ?? rest.type) !== undefined;
  return { fields, scaling: old.value === undefined || old.value === null ? { value: typed ? rest : null, field: "rope_parameters" } : old };
}

/** rope_scaling (or any object of that form: `field` names it in errors). `defaultOnly`, when given, is why every
 *  type but "default" is refused. */
export function parseRopeScaling(v: unknown, file: string, field = "rope_scaling", defaultOnly?: string): RopeScaling | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "object" || Array.isArray(v)) throw configError(file, field, "must be an object or null");
  const r = v as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
  if (defaultOnly !== undefined && type !== "default") throw configError(file, field, `has type ${JSON.stringify(type)}; ${defaultOnly}`);
  const num = (key: string, min = Number.MIN_VALUE): number => {
    const x = r[key];
    if (typeof x !== "number" || !Number.isFinite(x) || x < min)
      throw configError(file, `${field}.${key}`, `must be a number of at least ${min}, got ${JSON.stringify(x)}`);
    return x;
  };
  switch (type) {
    case "default": return null;
    case "linear": return { type, factor: num("factor", 1) };
    case "llama3": {
      const s = { type, factor: num("factor", 1), lowFreqFactor: num("low_freq_factor"), highFreqFactor: num("high_freq_factor"),
        originalMaxPositionEmbeddings: num("original_max_position_embeddings", 1) } as const;
      if (s.highFreqFactor <= s.lowFreqFactor)
        throw configError(file, `${field}.high_freq_factor`, `(${s.highFreqFactor}) must exceed low_freq_factor (${s.lowFreqFactor})`);
      return s;
    }
    default:
      throw configError(file, field, `has type ${JSON.stringify(type)}, which is not supported (supported: default, linear, llama3)`);
  }
}

const PHI3_DEFAULTS: Phi3Fields = { residPdrop: 0, partialRotaryFactor: 1 };

// transformers accepts only longrope (also spelt su or yarn) for Phi-3: its short/long factor switch and attention
// factor are not implemented, so 128k-context Phi-3 and Phi-4-mini checkpoints are refused.
const PHI3_ROPE = "Phi-3 long-context RoPE scaling (longrope, su, yarn) is not supported (only the default rotary embeddings)";

/** The schema of one model type's config.json: the shared fields with its defaults, and its own (typed as if
 *  every type had Phi-3's: a Phi-3 field given for another type is then an unknown field, as in a file). */
function schemaOf(type: LlamaModelType) {
  return { ...schemaFor(DEFAULTS[type]), ...(type === "phi3" ? PHI3_FIELDS : {}) } as ReturnType<typeof schemaFor> & typeof PHI3_FIELDS;
}

/** A config built in code from camelCase fields (validated like a file); modelType defaults to "llama". */
export function llamaConfig(fields: Partial<ParsedSchema & Phi3Fields> & {
  modelType?: LlamaModelType; numLabels?: number; eosTokenId?: number | number[] | null; slidingWindow?: number | null;
} = {}): LlamaConfig {
  const { modelType = "llama", numLabels, eosTokenId, slidingWindow, ...rest } = fields;
  const raw: RawConfig = { model_type: modelType, ...camelToRaw(rest, schemaOf(modelType)) };
  if (eosTokenId !== undefined) raw.eos_token_id = eosTokenId;
  if (slidingWindow !== undefined) raw.sliding_window = slidingWindow;
  return parseLlamaConfig(applyLabelOverrides(raw, { numLabels }), "<llamaConfig>");
}

/** The sizes a config describes, for the memory checks (../size.ts). Rotary positions have no table; the few
 *  q/k/v and MLP biases some configs add are left out. Qwen3's q_norm and k_norm add 2 x head_dim a layer.
 *  (Gemma's configs have these fields too.) */
export function llamaShape(c: Pick<LlamaConfig, "vocabSize" | "hiddenSize" | "numHiddenLayers" | "numAttentionHeads" | "numKeyValueHeads" |
  "headDim" | "intermediateSize" | "maxPositionEmbeddings" | "numLabels" | "tieWordEmbeddings" | "qkNorm">): ModelShape {
  return {
    vocabSize: c.vocabSize, hiddenSize: c.hiddenSize, numLayers: c.numHiddenLayers, numHeads: c.numAttentionHeads,
    numKeyValueHeads: c.numKeyValueHeads, headDim: c.headDim, intermediateSize: c.intermediateSize,
    maxPositions: c.maxPositionEmbeddings, positionEmbeddings: 0, typeVocabSize: 0, ffnMatrices: 3, biases: false,
    normsPerLayer: 2 + (c.qkNorm ? (2 * c.headDim) / c.hiddenSize : 0),
    otherParameters: c.hiddenSize, // the final norm
    numLabels: c.numLabels, tiedEmbeddings: c.tieWordEmbeddings, activations: ACTIVATION_MEMORY.gatedDecoder,
  };
}

export function llamaConfigDict(c: LlamaConfig): RawConfig {
  return { ...schemaToRaw(c, schemaOf(c.modelType)), ...labelsToRaw(c), eos_token_id: c.eosTokenId, model_type: c.modelType };
}
