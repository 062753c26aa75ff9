// Peak-memory estimates, so that a run that cannot fit is refused up front with numbers the user can act on,
// instead of dying hours later (or at once, with a RangeError from a typed-array constructor).
//
//   weights      every parameter (4 bytes each in float32)
//   gradients    one per trainable parameter
//   optimizer    AdamW's two moments per trainable parameter (SGD with momentum: one)
//   activations  what autograd keeps for backward: per layer ~ tokens x (a*hidden + b*ffn) + c x batch*heads*seq^2,
//                from the first layer that holds a trainable tensor on (the graph is only recorded from there),
//                plus the logits and their gradient for language-model heads
//
// The coefficients a, b, c were measured on this engine (process.memoryUsage().arrayBuffers around one forward pass
// in training mode, dropout on) for each family; the estimate is meant to be right within tens of percent, which is
// what deciding "this cannot fit" needs. Only type imports from src/models, so src/models/loading.ts can use
// checkModelSize before it allocates anything.
import { totalmem } from "node:os";
import type { BaseConfig } from "../models/pretrained.js";
import type { Module } from "../nn/index.js";

export type ModelFamily = "encoder" | "gpt2" | "llama";

/** The sizes that decide a model's parameter count and activation memory. */
export interface ModelShape {
  modelType: string;
  family: ModelFamily;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  intermediateSize: number;
  maxPositions: number;
  /** BERT's token type embeddings; 0 elsewhere. */
  typeVocabSize: number;
  /** Classification heads only: number of labels (0 when unknown). */
  numLabels: number;
  tiedEmbeddings: boolean;
}

/** Bytes per token and layer (a x hidden + b x ffn) and per attention score (c), float32. See the header. */
const ACTIVATION_COEFFICIENTS: Record<ModelFamily, { a: number; b: number; c: number }> = {
  encoder: { a: 72, b: 8, c: 14 },
  gpt2: { a: 80, b: 8, c: 16 },
  llama: { a: 54, b: 16, c: 8 },
};
/** Embeddings, their sum and norm, per token and hidden unit, when the graph reaches them. */
const EMBEDDING_BYTES_PER_TOKEN_HIDDEN = 24;
/** Logits and their gradient, per token and vocabulary entry. */
const LM_LOGIT_BYTES = 8;
/** V8 cannot make a typed array longer than this (2^32 elements in Node 20). */
export const MAX_TENSOR_ELEMENTS = 2 ** 32;

const num = (raw: Record<string, unknown>, key: string): number | undefined => (typeof raw[key] === "number" ? (raw[key] as number) : undefined);

/** The shape of a parsed config of a supported family; null for a family this module does not know. */
export function modelShape(config: BaseConfig): ModelShape | null {
  const c = config as unknown as Record<string, unknown>;
  const n = (key: string): number => num(c, key) ?? 0;
  const labels = n("numLabels");
  switch (config.modelType) {
    case "bert":
      return {
        modelType: "bert", family: "encoder", vocabSize: n("vocabSize"), hiddenSize: n("hiddenSize"), numLayers: n("numHiddenLayers"),
        numHeads: n("numAttentionHeads"), numKeyValueHeads: n("numAttentionHeads"), headDim: n("hiddenSize") / n("numAttentionHeads"),
        intermediateSize: n("intermediateSize"), maxPositions: n("maxPositionEmbeddings"), typeVocabSize: n("typeVocabSize"),
        numLabels: labels, tiedEmbeddings: true,
      };
    case "distilbert":
      return {
        modelType: "distilbert", family: "encoder", vocabSize: n("vocabSize"), hiddenSize: n("dim"), numLayers: n("nLayers"),
        numHeads: n("nHeads"), numKeyValueHeads: n("nHeads"), headDim: n("dim") / n("nHeads"), intermediateSize: n("hiddenDim"),
        maxPositions: n("maxPositionEmbeddings"), typeVocabSize: 0, numLabels: labels, tiedEmbeddings: true,
      };
    case "gpt2":
      return {
        modelType: "gpt2", family: "gpt2", vocabSize: n("vocabSize"), hiddenSize: n("nEmbd"), numLayers: n("nLayer"), numHeads: n("nHead"),
        numKeyValueHeads: n("nHead"), headDim: n("nEmbd") / n("nHead"), intermediateSize: n("innerSize") || 4 * n("nEmbd"),
        maxPositions: n("nPositions"), typeVocabSize: 0, numLabels: labels, tiedEmbeddings: c.tieWordEmbeddings !== false,
      };
    case "llama":
    case "mistral":
    case "qwen2":
      return {
        modelType: config.modelType, family: "llama", vocabSize: n("vocabSize"), hiddenSize: n("hiddenSize"), numLayers: n("numHiddenLayers"),
        numHeads: n("numAttentionHeads"), numKeyValueHeads: n("numKeyValueHeads") || n("numAttentionHeads"), headDim: n("headDim"),
        intermediateSize: n("intermediateSize"), maxPositions: 0, typeVocabSize: 0, numLabels: labels, tiedEmbeddings: c.tieWordEmbeddings === true,
      };
    default:
      return null;
  }
}

export interface ParameterEstimate {
  /** All parameters of the model with a language-model head (the largest head), tied weights once. */
  total: number;
  /** Elements of the largest single tensor (usually the token embedding). */
  largestTensor: number;
  largestTensorName: string;
}

/** Parameter count from the config alone (nothing is allocated). Exact up to biases and norms of the heads. */
export function estimateParameterCount(s: ModelShape): ParameterEstimate {
  const h = s.hiddenSize, f = s.intermediateSize;
  const tensors: [string, number][] = [["token embeddings (vocab_size x hidden)", s.vocabSize * h]];
  let perLayer: number;
  let total = s.vocabSize * h;
  if (s.family === "llama") {
    const q = s.numHeads * s.headDim, kv = s.numKeyValueHeads * s.headDim;
    perLayer = h * q + 2 * h * kv + q * h + 3 * h * f + 2 * h;
    tensors.push(["q_proj", h * q], ["mlp projection (hidden x intermediate_size)", h * f]);
    total += h; // final norm
  } else {
    // BERT/DistilBERT/GPT-2 blocks: q, k, v, o with biases, two feed-forward matrices with biases, two norms.
    perLayer = 4 * (h * h + h) + 2 * h * f + f + h + 4 * h;
    tensors.push(["position embeddings (max positions x hidden)", s.maxPositions * h], ["feed-forward (hidden x ffn)", h * f]);
    total += s.maxPositions * h + s.typeVocabSize * h + 2 * h;
    if (s.family === "encoder") total += h * h + h; // pooler / pre-classifier
  }
  total += s.numLayers * perLayer;
  if (!s.tiedEmbeddings) total += s.vocabSize * h;
  total += h * Math.max(s.numLabels, 0);
  const [largestTensorName, largestTensor] = tensors.reduce((a, b) => (b[1] > a[1] ? b : a));
  return { total, largestTensor, largestTensorName };
}

/**
 * Refuses a config whose model could not be built: a tensor longer than a typed array can be, or float32 weights
 * larger than the machine's memory. Called before the model is constructed, so a hostile config.json (vocab_size
 * 10^7 and hidden 65536 each pass their own bound) fails with its file name instead of a RangeError.
 */
export function checkModelSize(config: BaseConfig, file: string, opts: { limitBytes?: number } = {}): void {
  const shape = modelShape(config);
  if (!shape) return;
  const est = estimateParameterCount(shape);
  const limit = opts.limitBytes ?? totalmem();
  if (est.largestTensor > MAX_TENSOR_ELEMENTS) {
    throw new Error(`${file}: the ${est.largestTensorName} tensor would hold ${est.largestTensor.toExponential(2)} values, more than the ` +
      `${MAX_TENSOR_ELEMENTS.toExponential(2)} one array can hold; the config is corrupt or the model is far too large`);
  }
  if (est.total * 4 > limit) {
    throw new Error(`${file}: this config describes a model of about ${formatCount(est.total)} parameters (${gb(est.total * 4)} GB as float32), ` +
      `more than this machine's ${gb(limit)} GB of memory; the config is corrupt or the model is too large for this machine`);
  }
}

export interface TrainingRun {
  batchSize: number;
  /** Tokens per sequence (the padded length: --max-length, plus virtual tokens for prompt methods). */
  seqLen: number;
  /** Which optimizer keeps state: AdamW (two buffers per trainable value, the default), SGD with momentum (one) or plain SGD. */
  optimizer?: "adamw" | "sgd-momentum" | "sgd";
}

export interface MemoryEstimate {
  weightsBytes: number;
  gradientsBytes: number;
  optimizerBytes: number;
  activationsBytes: number;
  totalBytes: number;
  totalParams: number;
  trainableParams: number;
  batchSize: number;
  seqLen: number;
  /** Transformer layers whose activations are kept for backward. */
  layersWithActivations: number;
  /** false when the model is not a known family: activations were left out (weights and optimizer only). */
  activationsKnown: boolean;
}

/** Names of trainable tensors that sit in front of every layer: gradients flow back through all of them. */
const INPUT_SIDE = /(^|\.)(embeddings?|embed_tokens|wte|wpe|word_embeddings|position_embeddings|token_type_embeddings|prompt_encoder|prefix\w*)(\.|$)/;
const LAYER_INDEX = /(?:^|\.)(?:layer|layers|h|block|blocks)\.(\d+)\./;
const LM_HEAD = /(^|\.)(lm_head|vocab_projector|decoder)$/;

/** The PreTrainedModel inside `model` (itself, a PeftModel's base, a training wrapper's), found by duck typing. */
function innerConfig(model: Module): BaseConfig | null {
  for (const [, m] of model.namedModules()) {
    const config = (m as unknown as { config?: unknown }).config;
    if (typeof config === "object" && config !== null && typeof (config as BaseConfig).modelType === "string") return config as BaseConfig;
  }
  return null;
}

export function estimateTrainingMemory(model: Module, run: TrainingRun): MemoryEstimate {
  const { batchSize, seqLen } = run;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new RangeError(`seqLen must be a positive integer, got ${seqLen}`);
  let weightsBytes = 0, gradientsBytes = 0, totalParams = 0, trainableParams = 0, elementBytes = 4;
  let firstLayer = Infinity;
  for (const [name, p] of model.namedParameters()) {
    const bytes = p.dtype === "float64" ? 8 : 4;
    weightsBytes += p.numel * bytes;
    totalParams += p.numel;
    if (!p.requiresGrad) continue;
    elementBytes = Math.max(elementBytes, bytes);
    trainableParams += p.numel;
    gradientsBytes += p.numel * bytes;
    const layer = LAYER_INDEX.exec(name);
    if (layer) firstLayer = Math.min(firstLayer, Number(layer[1]));
    else if (INPUT_SIDE.test(name)) firstLayer = -1;
  }
  const buffers = run.optimizer === "sgd" ? 0 : run.optimizer === "sgd-momentum" ? 1 : 2;
  const optimizerBytes = gradientsBytes * buffers;

  const config = innerConfig(model);
  const shape = config ? modelShape(config) : null;
  let activationsBytes = 0, layersWithActivations = 0;
  if (shape && trainableParams > 0) {
    const tokens = batchSize * seqLen;
    const { a, b, c } = ACTIVATION_COEFFICIENTS[shape.family];
    layersWithActivations = firstLayer === Infinity ? 0 : shape.numLayers - Math.max(firstLayer, 0);
    const perLayer = tokens * (a * shape.hiddenSize + b * shape.intermediateSize) + c * batchSize * shape.numHeads * seqLen * seqLen;
    activationsBytes = layersWithActivations * perLayer;
    if (firstLayer < 0) activationsBytes += tokens * EMBEDDING_BYTES_PER_TOKEN_HIDDEN * shape.hiddenSize;
    const lm = [...model.namedModules()].some(([n]) => LM_HEAD.test(n));
    if (lm) activationsBytes += tokens * shape.vocabSize * LM_LOGIT_BYTES;
    activationsBytes *= elementBytes / 4;
  }
  return {
    weightsBytes, gradientsBytes, optimizerBytes, activationsBytes,
    totalBytes: weightsBytes + gradientsBytes + optimizerBytes + activationsBytes,
    totalParams, trainableParams, batchSize, seqLen, layersWithActivations, activationsKnown: shape !== null,
  };
}

export class MemoryBudgetError extends Error {
  override readonly name = "MemoryBudgetError";
  constructor(message: string, readonly estimate: MemoryEstimate, readonly limitBytes: number) {
    super(message);
  }
}

export interface MemoryBudgetOptions {
  /** Default: 80% of the machine's memory (os.totalmem()). */
  limitBytes?: number;
  /** How the limit is described in the message; default "the machine has N GB" (of which 80% is usable). */
  limitLabel?: string;
}

/**
 * Throws MemoryBudgetError, before anything big is allocated, when the run's estimated peak exceeds the limit:
 *   this run needs about 31.2 GB (weights 0.3, gradients 0.3, optimizer 0.5, activations 30.1 at batch 64 x 512) but
 *   the machine has 24 GB (80% usable); lower --batch-size or --max-length
 * Returns the estimate otherwise. The CLI's train command and the Trainer both call it.
 */
export function checkMemoryBudget(model: Module, run: TrainingRun, opts: MemoryBudgetOptions = {}): MemoryEstimate {
  const est = estimateTrainingMemory(model, run);
  const machine = totalmem();
  const limit = opts.limitBytes ?? machine * 0.8;
  if (est.totalBytes <= limit) return est;
  const label = opts.limitLabel ?? (opts.limitBytes === undefined ? `the machine has ${formatBytes(machine)} (80% usable)` : `the limit is ${formatBytes(limit)}`);
  // The parts in the total's unit: "31.2 GB (weights 0.3, optimizer 0.5, activations 30.4 at batch 64 x 512)".
  const unit = est.totalBytes >= 1e9 ? 1e9 : 1e6;
  const part = (bytes: number) => fixed(bytes / unit);
  const parts = [`weights ${part(est.weightsBytes)}`];
  if (est.gradientsBytes) parts.push(`gradients ${part(est.gradientsBytes)}`);
  if (est.optimizerBytes) parts.push(`optimizer ${part(est.optimizerBytes)}`);
  if (est.activationsBytes) parts.push(`activations ${part(est.activationsBytes)} at batch ${est.batchSize} x ${est.seqLen}`);
  const advice = est.activationsBytes > est.totalBytes / 2
    ? "lower --batch-size or --max-length"
    : "train fewer parameters (a PEFT method such as LoRA) or use a smaller model";
  throw new MemoryBudgetError(`this run needs about ${formatBytes(est.totalBytes)} (${parts.join(", ")}) but ${label}; ${advice}`, est, limit);
}

/** One decimal, two below 0.1 (so a small part does not read as 0.0), exponent notation past 10^5. */
function fixed(v: number): string {
  if (v >= 1e5) return v.toExponential(1);
  return v > 0 && v < 0.1 ? v.toFixed(2) : v.toFixed(1);
}

/** "31.2 GB" from 1 GB up, else "412.5 MB". */
export function formatBytes(bytes: number): string {
  return bytes >= 1e9 ? `${fixed(bytes / 1e9)} GB` : `${fixed(bytes / 1e6)} MB`;
}

function gb(bytes: number): string {
  return fixed(bytes / 1e9);
}

function formatCount(n: number): string {
  if (n >= 1e12) return `${(n / 1e12).toFixed(1)} trillion`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} billion`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} million`;
  return String(n);
}
