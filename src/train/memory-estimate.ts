// Peak-memory estimates, so that a run that cannot fit is refused up front with numbers the user can act on,
// instead of dying hours later (or at once, with a RangeError from a typed-array constructor).
//
//   weights      every parameter (4 bytes each in float32)
//   gradients    one per trainable parameter
//   optimizer    AdamW's two moments per trainable parameter (SGD with momentum: one)
//   activations  what autograd keeps for backward: per layer ~ tokens x (a*hidden + b*ffn) + c x batch*heads*seq^2,
//                from the first layer that holds a trainable tensor on (the graph is only recorded from there),
//                plus the logits and their gradient for language-model heads; with gradient checkpointing, one
//                hidden state per layer (each block's input) and one block's activations, rebuilt in backward
//
// The coefficients a, b, c were measured on this engine for each kind of block (../models/size.ts); each family's
// classes name theirs in their modelShape. The estimate is meant to be right within tens of percent, which is what
// deciding "this cannot fit" needs.
import { totalmem } from "node:os";
import { isGradientCheckpointing } from "../models/checkpointing.js";
import { PreTrainedModel } from "../models/pretrained.js";
import { familyOf } from "../models/registry.js";
import { formatDecimal } from "../models/size.js";
import type { Module } from "../nn/index.js";

/** Embeddings, their sum and norm, per token and hidden unit, when the graph reaches them. */
const EMBEDDING_BYTES_PER_TOKEN_HIDDEN = 24;
/** Logits and their gradient, per token and vocabulary entry. */
const LM_LOGIT_BYTES = 8;

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
  /** false when `model` holds no PreTrainedModel: activations were left out (weights and optimizer only). */
  activationsKnown: boolean;
}

/** The PreTrainedModel inside `model` (itself, a PeftModel's base, a training wrapper's). */
function innerModel(model: Module): PreTrainedModel | null {
  for (const [, m] of model.namedModules()) if (m instanceof PreTrainedModel) return m;
  return null;
}

const escape = (path: string) => path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function estimateTrainingMemory(model: Module, run: TrainingRun): MemoryEstimate {
  const { batchSize, seqLen } = run;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new RangeError(`seqLen must be a positive integer, got ${seqLen}`);
  const inner = innerModel(model);
  const family = inner && familyOf(inner.config.modelType);
  // Names of trainable tensors in a block, and of those in front of every block (embeddings, prompt encoders):
  // gradients flow back from the first of them, so the graph spans every block from there on.
  const layerIndex = family && new RegExp(`(?:^|\\.)${escape(family.layout.blocks)}\\.(\\d+)\\.`);
  const inputSide = family && new RegExp(`(?:^|\\.)(?:${[...family.layout.embeddings, "prompt_encoder"].map(escape).join("|")})(?:\\.|$)`);
  let weightsBytes = 0, gradientsBytes = 0, totalParams = 0, trainableParams = 0, elementBytes = 4;
  let firstLayer = Infinity;
  for (const [name, p] of model.namedParameters()) {
    const bytes = p.dtype === "float64" ? 8 : p.dtype === "bfloat16" ? 2 : 4;
    weightsBytes += p.numel * bytes;
    totalParams += p.numel;
    if (!p.requiresGrad) continue;
    elementBytes = Math.max(elementBytes, bytes);
    trainableParams += p.numel;
    gradientsBytes += p.numel * bytes;
    const layer = layerIndex?.exec(name);
    if (layer) firstLayer = Math.min(firstLayer, Number(layer[1]));
    else if (inputSide?.test(name)) firstLayer = -1;
  }
  const buffers = run.optimizer === "sgd" ? 0 : run.optimizer === "sgd-momentum" ? 1 : 2;
  const optimizerBytes = gradientsBytes * buffers;

  let activationsBytes = 0, layersWithActivations = 0;
  if (inner && family && trainableParams > 0) {
    const shape = inner.shape();
    const tokens = batchSize * seqLen;
    const { a, b, c } = shape.activations;
    layersWithActivations = firstLayer === Infinity ? 0 : shape.numLayers - Math.max(firstLayer, 0);
    const perLayer = tokens * (a * shape.hiddenSize + b * shape.intermediateSize) + c * batchSize * shape.numHeads * seqLen * seqLen;
    // A head that reads the first row alone leaves the last layer with its input and keys and values for every
    // token (12 bytes per token and hidden unit) and the rest for one row per sequence.
    const lastLayer = inner.headReads() === "first" ? tokens * 12 * shape.hiddenSize + perLayer / seqLen : perLayer;
    activationsBytes = !isGradientCheckpointing(inner) ? (layersWithActivations && (layersWithActivations - 1) * perLayer + lastLayer)
      : layersWithActivations && layersWithActivations * tokens * shape.hiddenSize * 4 + perLayer;
    if (firstLayer < 0) activationsBytes += tokens * EMBEDDING_BYTES_PER_TOKEN_HIDDEN * shape.hiddenSize;
    const { causalLm, maskedLm } = family.classes;
    if ((causalLm && inner instanceof causalLm) || (maskedLm && inner instanceof maskedLm)) activationsBytes += tokens * shape.vocabSize * LM_LOGIT_BYTES;
    activationsBytes *= elementBytes / 4;
  }
  return {
    weightsBytes, gradientsBytes, optimizerBytes, activationsBytes,
    totalBytes: weightsBytes + gradientsBytes + optimizerBytes + activationsBytes,
    totalParams, trainableParams, batchSize, seqLen, layersWithActivations, activationsKnown: inner !== null,
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
  const part = (bytes: number) => formatDecimal(bytes / unit);
  const parts = [`weights ${part(est.weightsBytes)}`];
  if (est.gradientsBytes) parts.push(`gradients ${part(est.gradientsBytes)}`);
  if (est.optimizerBytes) parts.push(`optimizer ${part(est.optimizerBytes)}`);
  if (est.activationsBytes) parts.push(`activations ${part(est.activationsBytes)} at batch ${est.batchSize} x ${est.seqLen}`);
  const advice = est.activationsBytes > est.totalBytes / 2
    ? "lower --batch-size or --max-length"
    : "train fewer parameters (a PEFT method such as LoRA) or use a smaller model";
  throw new MemoryBudgetError(`this run needs about ${formatBytes(est.totalBytes)} (${parts.join(", ")}) but ${label}; ${advice}`, est, limit);
}

/** "31.2 GB" from 1 GB up, else "412.5 MB". */
export function formatBytes(bytes: number): string {
  return bytes >= 1e9 ? `${formatDecimal(bytes / 1e9)} GB` : `${formatDecimal(bytes / 1e6)} MB`;
}
