// config.json of the Llama family (transformers LlamaConfig, MistralConfig, Qwen2Config), typed and checked.
// The three share one architecture; they differ in defaults, in which linear layers carry biases, and in
// Mistral's sliding-window attention.
import {
  ACTIVATION_NAMES, LIMITS, applyLabelOverrides, camelToRaw, checkDivisible, configError, labelsToRaw, parseLabels,
  parseSchema, schemaToRaw,
} from "../config.js";
import type { FromSchema, LabelConfig, RawConfig, Schema } from "../config.js";
import { ACTIVATION_MEMORY, type ModelShape } from "../size.js";

export const LLAMA_MODEL_TYPES = ["llama", "mistral", "qwen2"] as const;
export type LlamaModelType = (typeof LLAMA_MODEL_TYPES)[number];

/** RoPE frequency scalings: "linear" divides every frequency by factor; "llama3" only the long wavelengths,
 *  blending in between (transformers' _compute_llama3_parameters). */
export type RopeScaling =
  | { type: "linear"; factor: number }
  | { type: "llama3"; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number };

interface FamilyDefaults {
  vocab: number; hidden: number; intermediate: number; layers: number; heads: number; kvHeads: number | null;
  positions: number; bos: number | null; eos: number | null;
}

const DEFAULTS: Record<LlamaModelType, FamilyDefaults> = {
  llama: { vocab: 32000, hidden: 4096, intermediate: 11008, layers: 32, heads: 32, kvHeads: null, positions: 2048, bos: 1, eos: 2 },
  mistral: { vocab: 32000, hidden: 4096, intermediate: 14336, layers: 32, heads: 32, kvHeads: 8, positions: 4096 * 32, bos: 1, eos: 2 },
  qwen2: { vocab: 151936, hidden: 4096, intermediate: 22016, layers: 32, heads: 32, kvHeads: 32, positions: 32768, bos: null, eos: null },
};

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
    headDim: { key: "head_dim", kind: "int", default: null, nullable: true, min: 1, max: LIMITS.hidden },
    hiddenAct: { key: "hidden_act", kind: "string", default: "silu", oneOf: ACTIVATION_NAMES },
    maxPositionEmbeddings: { key: "max_position_embeddings", kind: "int", default: d.positions, min: 1, max: LIMITS.positions },
    initializerRange: { key: "initializer_range", kind: "float", default: 0.02, min: 0 },
    rmsNormEps: { key: "rms_norm_eps", kind: "float", default: 1e-6, min: 0 },
    ropeTheta: { key: "rope_theta", kind: "float", default: 10000, min: Number.MIN_VALUE },
    attentionBias: { key: "attention_bias", kind: "bool", default: false },
    attentionDropout: { key: "attention_dropout", kind: "float", default: 0, min: 0, below: 1 },
    mlpBias: { key: "mlp_bias", kind: "bool", default: false },
    tieWordEmbeddings: { key: "tie_word_embeddings", kind: "bool", default: false },
    padTokenId: tokenId("pad_token_id", null),
    bosTokenId: tokenId("bos_token_id", d.bos),
  } as const satisfies Schema;
}

type ParsedSchema = FromSchema<ReturnType<typeof schemaFor>>;

export type LlamaConfig = Omit<ParsedSchema, "numKeyValueHeads" | "headDim"> & LabelConfig & {
  readonly modelType: LlamaModelType;
  readonly raw: RawConfig;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  /** Biases on q_proj/k_proj/v_proj (Qwen2 always; Llama with attention_bias). */
  readonly qkvBias: boolean;
  /** Bias on o_proj (Llama with attention_bias; never Qwen2). */
  readonly outputBias: boolean;
  readonly ropeScaling: RopeScaling | null;
  /** Mistral: a query sees only the last slidingWindow keys (itself included). */
  readonly slidingWindow: number | null;
  /** A list when the model has several end tokens (Llama 3). */
  readonly eosTokenId: number | number[] | null;
};

export function parseLlamaConfig(raw: RawConfig, file: string): LlamaConfig {
  const modelType = raw.model_type ?? "llama";
  if (!LLAMA_MODEL_TYPES.includes(modelType as LlamaModelType))
    throw configError(file, "model_type", `is ${JSON.stringify(modelType)}; the Llama family covers ${LLAMA_MODEL_TYPES.join(", ")}`);
  const type = modelType as LlamaModelType;
  const s = parseSchema(raw, file, schemaFor(DEFAULTS[type]));
  const numKeyValueHeads = s.numKeyValueHeads ?? s.numAttentionHeads;
  if (s.numAttentionHeads % numKeyValueHeads !== 0)
    throw configError(file, "num_key_value_heads", `(${numKeyValueHeads}) must divide num_attention_heads (${s.numAttentionHeads})`);
  if (s.headDim === null) checkDivisible(file, "hidden_size", s.hiddenSize, "num_attention_heads", s.numAttentionHeads);
  const headDim = s.headDim ?? s.hiddenSize / s.numAttentionHeads;
  if (headDim % 2 !== 0) throw configError(file, "head_dim", `(${headDim}) must be even for rotary embeddings`);
  return {
    ...s,
    ...parseLabels(raw, file),
    modelType: type,
    raw,
    numKeyValueHeads,
    headDim,
    qkvBias: type === "qwen2" || (type === "llama" && s.attentionBias),
    outputBias: type === "llama" && s.attentionBias,
    mlpBias: type === "llama" && s.mlpBias,
    ropeScaling: parseRopeScaling(raw.rope_scaling, file),
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
  if (type === "qwen2") {
    // Qwen2 windows only the layers from max_window_layers on; that per-layer mix is not implemented.
    if (raw.use_sliding_window === true)
      throw configError(file, "use_sliding_window", "is true; Qwen2 sliding-window attention is not supported (set it to false to use full attention)");
    return null;
  }
  const w = raw.sliding_window === undefined ? 4096 : raw.sliding_window;
  if (w === null) return null;
  if (!Number.isInteger(w) || (w as number) < 1) throw configError(file, "sliding_window", `must be a positive integer or null, got ${JSON.stringify(w)}`);
  return w as number;
}

/** rope_scaling (or any object of that form: `field` names it in errors). */
export function parseRopeScaling(v: unknown, file: string, field = "rope_scaling"): RopeScaling | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "object" || Array.isArray(v)) throw configError(file, field, "must be an object or null");
  const r = v as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
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

/** A config built in code from camelCase fields (validated like a file); modelType defaults to "llama". */
export function llamaConfig(fields: Partial<ParsedSchema> & {
  modelType?: LlamaModelType; numLabels?: number; eosTokenId?: number | number[] | null; slidingWindow?: number | null;
} = {}): LlamaConfig {
  const { modelType = "llama", numLabels, eosTokenId, slidingWindow, ...rest } = fields;
  const raw: RawConfig = { model_type: modelType, ...camelToRaw(rest, schemaFor(DEFAULTS[modelType])) };
  if (eosTokenId !== undefined) raw.eos_token_id = eosTokenId;
  if (slidingWindow !== undefined) raw.sliding_window = slidingWindow;
  return parseLlamaConfig(applyLabelOverrides(raw, { numLabels }), "<llamaConfig>");
}

/** The sizes a config describes, for the memory checks (../size.ts). Rotary positions have no table; the few
 *  q/k/v and MLP biases some configs add are left out. (Gemma's configs have these fields too.) */
export function llamaShape(c: Pick<LlamaConfig, "vocabSize" | "hiddenSize" | "numHiddenLayers" | "numAttentionHeads" | "numKeyValueHeads" |
  "headDim" | "intermediateSize" | "maxPositionEmbeddings" | "numLabels" | "tieWordEmbeddings">): ModelShape {
  return {
    vocabSize: c.vocabSize, hiddenSize: c.hiddenSize, numLayers: c.numHiddenLayers, numHeads: c.numAttentionHeads,
    numKeyValueHeads: c.numKeyValueHeads, headDim: c.headDim, intermediateSize: c.intermediateSize,
    maxPositions: c.maxPositionEmbeddings, positionEmbeddings: 0, typeVocabSize: 0, ffnMatrices: 3, biases: false, normsPerLayer: 2,
    otherParameters: c.hiddenSize, // the final norm
    numLabels: c.numLabels, tiedEmbeddings: c.tieWordEmbeddings, activations: ACTIVATION_MEMORY.gatedDecoder,
  };
}

export function llamaConfigDict(c: LlamaConfig): RawConfig {
  return { ...schemaToRaw(c, schemaFor(DEFAULTS[c.modelType])), ...labelsToRaw(c), eos_token_id: c.eosTokenId, model_type: c.modelType };
}
