// The contract every model family implements, and that PEFT methods and the trainer rely on.
import type { NestedArray, Tensor } from "../tensor/index.js";

/** Tensors, or plain nested number arrays from outside scripts. */
export type TensorLike = Tensor | NestedArray;

/** One layer's key/value pair, each [batch, numKvHeads, pastLength, headDim]. */
export interface LayerPast {
  key: Tensor;
  value: Tensor;
  /** Set on a growable cache (see models/kv-cache.ts): the rows of key and value in use, the rest spare rows a
   *  forward appends to in place. */
  length?: number;
}

export interface ModelInput {
  /** [batch, seq] token ids; exactly one of inputIds / inputsEmbeds. */
  inputIds?: TensorLike;
  /** [batch, seq, hidden]: replaces the word-embedding lookup (prompt tuning, P-tuning). The model
   *  still adds its own position information (and DistilBERT/BERT still apply embedding LayerNorm). */
  inputsEmbeds?: Tensor;
  /** [batch, pastLength + seq], 1 = attend. Covers past keys too when pastKeyValues is given. */
  attentionMask?: TensorLike;
  /** Classifiers: [batch] class ids. Causal LMs: [batch, seq] with -100 where no loss is taken. */
  labels?: TensorLike;
  tokenTypeIds?: TensorLike;
  /** Decoders: [batch, seq] (or [seq]) positions of the input tokens. Without an attentionMask or past, positions
   *  that restart (any step other than +1) start a new packed sequence, which attends only within itself. */
  positionIds?: TensorLike;
  /** Per layer, keys/values that come before this input: a generation cache, or prefix tuning's
   *  virtual tokens. Positions of the input start at pastLength. Prefix keys are used as given (not
   *  rotated by RoPE). */
  pastKeyValues?: LayerPast[];
  /** Return the updated per-layer key/values (generation). */
  useCache?: boolean;
  /** An encoder classifier reads one position of the last layer, so it computes the last layer for that
   *  position alone and returns no lastHiddenState; true computes every position and returns it [batch, seq,
   *  hidden] (feature extraction from a classifier). "first": position 0 alone, [batch, 1, hidden], where the
   *  model can compute the last layer for it alone (an encoder whose head, if any, reads position 0: [CLS]
   *  pooling at about 1/numLayers less work); every other model returns every position, as for true. */
  outputLastHiddenState?: boolean | "first";
}

/** A masked LM's loss over its labelled positions, and the encoder's output it came from (for an objective added
 *  beside masked-LM, such as pretraining's word-vector distillation). */
export interface MaskedLoss {
  loss: Tensor;
  /** [batch, seq, hidden] */
  lastHiddenState: Tensor;
}

export interface ModelOutput {
  /** The head's output; a base model without a head returns its last hidden state here. */
  logits: Tensor;
  loss?: Tensor;
  lastHiddenState?: Tensor;
  /** BERT's pooler output. */
  poolerOutput?: Tensor;
  pastKeyValues?: LayerPast[];
}

/** Facts PEFT needs about a model, named as in PEFT's model config lookups. */
export interface PeftModelFacts {
  modelType: string;
  numLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  hiddenSize: number;
  headDim: number;
  vocabSize: number;
}
