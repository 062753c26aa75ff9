// A model's size from its config alone, before anything is allocated: the parameter count, the largest tensor,
// and what its blocks keep for backward. Each family's classes describe themselves (static modelShape); loading
// refuses configs whose model could not be built, and ../train/memory-estimate.ts sizes a training run.
import { totalmem } from "node:os";

/** Bytes kept for backward per token and layer (a x hidden + b x ffn) and per attention score (c), float32. */
export interface ActivationProfile {
  a: number;
  b: number;
  c: number;
}

/** The profiles measured on this engine (process.memoryUsage().arrayBuffers around one forward pass in training
 *  mode, dropout on), by kind of block. A family whose blocks differ from all of them measures its own. */
export const ACTIVATION_MEMORY = {
  /** BERT-style post-norm encoder blocks with a two-matrix feed-forward. */
  encoder: { a: 72, b: 8, c: 14 },
  /** GPT-2-style pre-norm decoder blocks with a two-matrix MLP. */
  decoder: { a: 80, b: 8, c: 16 },
  /** Llama-style pre-RMSNorm decoder blocks with a gated MLP. */
  gatedDecoder: { a: 54, b: 16, c: 8 },
} as const satisfies Record<string, ActivationProfile>;

/** The sizes that decide a model's parameter count and activation memory. */
export interface ModelShape {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  intermediateSize: number;
  /** The longest input the config allows (max_position_embeddings, n_positions). */
  maxPositions: number;
  /** Rows of a learned position table: maxPositions for absolute positions, 0 for rotary ones. */
  positionEmbeddings: number;
  /** BERT's token type embeddings; 0 elsewhere. */
  typeVocabSize: number;
  /** Weight matrices of a block's feed-forward: 2 (up, down) or 3 (gated: gate, up, down). */
  ffnMatrices: 2 | 3;
  /** Whether a block's linear layers have biases. */
  biases: boolean;
  /** A block's norm parameters in units of hidden: 4 for two LayerNorms (weight and bias), 2 for two RMSNorms. */
  normsPerLayer: number;
  /** Parameters outside the blocks, the embeddings and the heads: final or embedding norms, a pooler. */
  otherParameters: number;
  /** Classification heads only: number of labels (0 when unknown). */
  numLabels: number;
  tiedEmbeddings: boolean;
  activations: ActivationProfile;
}

export interface ParameterEstimate {
  /** All parameters of the model with a language-model head (the largest head), tied weights once. */
  total: number;
  /** Elements of the largest single tensor (usually the token embedding). */
  largestTensor: number;
  largestTensorName: string;
}

/** V8 cannot make a typed array longer than this (2^32 elements in Node 20). */
export const MAX_TENSOR_ELEMENTS = 2 ** 32;

/** Parameter count from the config alone (nothing is allocated). Exact up to biases and norms of the heads. */
export function estimateParameterCount(s: ModelShape): ParameterEstimate {
  const h = s.hiddenSize, f = s.intermediateSize, m = s.ffnMatrices;
  const q = s.numHeads * s.headDim, kv = s.numKeyValueHeads * s.headDim;
  const attention = 2 * h * q + 2 * h * kv + (s.biases ? q + 2 * kv + h : 0);
  const ffn = m * h * f + (s.biases ? (m - 1) * f + h : 0);
  const perLayer = attention + ffn + s.normsPerLayer * h;
  const tensors: [string, number][] = [
    ["token embeddings (vocab_size x hidden)", s.vocabSize * h],
    ["position embeddings (max positions x hidden)", s.positionEmbeddings * h],
    ["query projection (hidden x heads * head_dim)", h * q],
    ["feed-forward (hidden x intermediate size)", h * f],
  ];
  let total = (s.vocabSize + s.positionEmbeddings + s.typeVocabSize) * h + s.otherParameters + s.numLayers * perLayer;
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
export function checkModelSize(shape: ModelShape, file: string, opts: { limitBytes?: number } = {}): void {
  const est = estimateParameterCount(shape);
  const limit = opts.limitBytes ?? totalmem();
  if (est.largestTensor > MAX_TENSOR_ELEMENTS) {
    throw new Error(`${file}: the ${est.largestTensorName} tensor would hold ${est.largestTensor.toExponential(2)} values, more than the ` +
      `${MAX_TENSOR_ELEMENTS.toExponential(2)} one array can hold; the config is corrupt or the model is far too large`);
  }
  if (est.total * 4 > limit) {
    throw new Error(`${file}: this config describes a model of about ${formatParameterTotal(est.total)} parameters (${formatDecimal(est.total * 4 / 1e9)} GB ` +
      `as float32), more than this machine's ${formatDecimal(limit / 1e9)} GB of memory; the config is corrupt or the model is too large for this machine`);
  }
}

/** One decimal, two below 0.1 (so a small part does not read as 0.0), exponent notation past 10^5. */
export function formatDecimal(v: number): string {
  if (v >= 1e5) return v.toExponential(1);
  return v > 0 && v < 0.1 ? v.toFixed(2) : v.toFixed(1);
}

/** "1.2 billion", "66.4 million", "4096". */
export function formatParameterTotal(n: number): string {
  if (n >= 1e12) return `${(n / 1e12).toFixed(1)} trillion`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} billion`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} million`;
  return String(n);
}
