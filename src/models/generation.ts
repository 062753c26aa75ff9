// What the decoder-only models (GPT-2, the Llama family) share: how they read their input (past
// keys/values, position ids, packed sequences), their shifted-target loss and last-token pooling, and
// generate() with a key/value cache, following transformers' GenerationMixin (greedy search, and
// multinomial sampling; the token choice is in ./sampling.ts).
import { Tensor, asTensor, cat, crossEntropy, embedding, noGrad, ones, reshape } from "../tensor/index.js";
import { warn } from "../warnings/index.js";
import { growableCache } from "./kv-cache.js";
import { readTokensAndPast, type TokensAndPast } from "./model-input.js";
import type { LayerPast, ModelInput, ModelOutput, TensorLike } from "./outputs.js";
import { tokenPicker, type SamplingOptions } from "./sampling.js";

export interface CausalLMInput extends ModelInput {
  /** [batch, seq] (or [seq] for every sequence): positions of the input tokens. Default pastLength +
   *  arange(seq), as transformers; generate() derives them from the attention mask, so left padding
   *  does not shift the real tokens. Given without attentionMask and past, a position that does not follow
   *  the one before it by 1 starts a new packed sequence (transformers' find_packed_sequence_indices). */
  positionIds?: TensorLike;
  /** Logits only for the last this-many positions ([batch, logitsToKeep, vocab]); 0 (default) for all, as
   *  transformers' logits_to_keep. generate() asks for 1: the LM head over a whole prompt is most of a prefill's
   *  work and memory, for rows nothing reads. */
  logitsToKeep?: number;
}

/** A forward pass's input, validated and normalised. */
export interface DecoderInputs extends TokensAndPast {
  /** Position of every input token, [positionRows, seq] row-major; positionRows is 1 when all
   *  sequences share them. */
  positions: Int32Array;
  positionRows: number;
  /** [batch, seq]: which packed sequence each token belongs to; null when every row is one sequence. Attention
   *  stays within a sequence. */
  segments: Int32Array | null;
}

export function readDecoderInput(input: CausalLMInput, numLayers: number): DecoderInputs {
  const t = readTokensAndPast(input, numLayers);
  const { batch, seq, pastLength } = t;
  let positions: Int32Array, positionRows = 1;
  if (input.positionIds === undefined) {
    positions = Int32Array.from({ length: seq }, (_, i) => pastLength + i);
  } else {
    const p = asTensor(input.positionIds, "int32");
    positionRows = p.ndim === 2 ? p.shape[0] : 1;
    if (p.shape[p.ndim - 1] !== seq || p.ndim > 2 || (positionRows !== 1 && positionRows !== batch))
      throw new RangeError(`positionIds must be [batch, seq] = [${batch}, ${seq}], got [${p.shape}]`);
    positions = Int32Array.from(p.data);
    if (positions.some((v) => v < 0)) throw new RangeError("positionIds must not be negative");
  }
  // As transformers, packing is read from the positions only in a training-style call: no mask, no cache.
  const packed = input.positionIds !== undefined && t.attentionMask === null && pastLength === 0;
  return { ...t, positions, positionRows, segments: packed ? packedSegments(positions, positionRows, batch, seq) : null };
}

/** Sequence index of every token, counting restarts of the positions along each row; null when nothing restarts. */
export function packedSegments(positions: Int32Array, rows: number, batch: number, seq: number): Int32Array | null {
  const out = new Int32Array(batch * seq);
  let restarts = false;
  for (let b = 0; b < batch; b++) {
    const p = (rows === 1 ? 0 : b) * seq;
    for (let t = 1; t < seq; t++) {
      const next = positions[p + t] !== positions[p + t - 1] + 1;
      restarts ||= next;
      out[b * seq + t] = out[b * seq + t - 1] + (next ? 1 : 0);
    }
  }
  return restarts ? out : null;
}

/** Mean cross-entropy of logits [batch, seq, vocab] at position t against labels[t + 1], skipping -100.
 *  The targets are shifted instead of the logits, so no copy of the logits is made. */
export function causalLmLoss(logits: Tensor, labels: TensorLike): Tensor {
  const y = asTensor(labels, "int32");
  const [batch, seq] = logits.shape;
  if (y.ndim !== 2 || y.shape[0] !== batch || y.shape[1] !== seq)
    throw new RangeError(`labels must be [batch, seq] = [${batch}, ${seq}] (-100 where no loss is taken), got [${y.shape}]`);
  const targets = new Int32Array(batch * seq).fill(-100);
  for (let b = 0; b < batch; b++) for (let t = 0; t + 1 < seq; t++) targets[b * seq + t] = y.data[b * seq + t + 1];
  return crossEntropy(logits, new Tensor(targets, [batch, seq]), { ignoreIndex: -100 });
}

/** The hidden state of each sequence's last non-pad token, [batch, hidden] (transformers' decoder
 *  *ForSequenceClassification). Without input ids (inputsEmbeds) the last position is used, as there. */
export function poolLastTokens(hidden: Tensor, inputIds: Tensor | null, padTokenId: number | null): Tensor {
  const [batch, seq, width] = hidden.shape;
  if (padTokenId === null && batch > 1)
    throw new Error("Cannot handle batch sizes > 1 if no padding token is defined: set pad_token_id in the config (GPT-2 usually uses its eos id)");
  const index = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    let last = seq - 1;
    if (inputIds && padTokenId !== null) {
      last = 0;
      for (let t = 0; t < seq; t++) if (inputIds.data[b * seq + t] !== padTokenId) last = t;
    }
    index[b] = b * seq + last;
  }
  return embedding(reshape(hidden, [batch * seq, width]), new Tensor(index, [batch]));
}

// ------------------------------------------------------------------------------------------- generate

export interface CausalLM {
  forward(input: CausalLMInput): ModelOutput;
  readonly config: { readonly eosTokenId: number | number[] | null; readonly padTokenId: number | null };
}

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to add to each sequence; default 20. */
  maxNewTokens?: number;
  /** A sequence that produces one of these stops; later positions get padTokenId. Default: the config's. */
  eosTokenId?: number | number[] | null;
  /** Fills finished sequences; default the config's pad_token_id, else the first eos id. */
  padTokenId?: number | null;
  /** [batch, seq], 0 at (left) padding. Default: inputIds != padTokenId when the pad token occurs and
   *  differs from eos, else all ones (transformers' rule). */
  attentionMask?: TensorLike;
}

/** Continues each sequence of inputIds [batch, seq]; returns [batch, seq + generated] token ids. Each step
 *  feeds only the new token and the cache; position ids follow the attention mask (left padding). */
export function generateTokens(model: CausalLM, inputIds: TensorLike, opts: GenerateOptions = {}): Tensor {
  const ids = asTensor(inputIds, "int32");
  const steps = generationSteps(model, ids, opts);
  const [batch, promptLen] = ids.shape;
  const rows: number[][] = Array.from({ length: batch }, (_, b) => Array.from(ids.data.subarray(b * promptLen, (b + 1) * promptLen)));
  for (const next of steps) next.forEach((t, b) => rows[b].push(t));
  return new Tensor(Int32Array.from(rows.flat()), [batch, rows[0].length]);
}

/**
 * generate() one step at a time: yields the next token of every sequence ([batch]; padTokenId once a sequence has
 * produced an eos) until all have stopped or maxNewTokens is reached. Breaking out of the loop stops generation, so
 * a caller can stream the tokens and stop on its own conditions (stop strings).
 */
export function* generationSteps(model: CausalLM, inputIds: TensorLike, opts: GenerateOptions = {}): Generator<Int32Array, void, void> {
  const ids = asTensor(inputIds, "int32");
  if (ids.ndim !== 2 || ids.shape[1] === 0) throw new RangeError(`generate: inputIds must be [batch, seq] with seq > 0, got [${ids.shape}]`);
  const [batch, promptLen] = ids.shape;
  const maxNew = opts.maxNewTokens ?? 20;
  if (!Number.isInteger(maxNew) || maxNew < 0) throw new RangeError(`generate: maxNewTokens must be a non-negative integer, got ${maxNew}`);
  const eos = toIdList(opts.eosTokenId === undefined ? model.config.eosTokenId : opts.eosTokenId);
  const pad = (opts.padTokenId === undefined ? model.config.padTokenId : opts.padTokenId) ?? eos[0] ?? null;
  const pick = tokenPicker(opts);
  let mask = opts.attentionMask === undefined ? defaultAttentionMask(ids, pad, eos) : asTensor(opts.attentionMask, "float32");
  if (mask.shape.join() !== ids.shape.join()) throw new RangeError(`generate: attentionMask [${mask.shape}] must match inputIds [${ids.shape}]`);
  warnOnRightPadding(mask);

  // The sequences so far, for the repetition penalty.
  const rows: number[][] = Array.from({ length: batch }, (_, b) => Array.from(ids.data.subarray(b * promptLen, (b + 1) * promptLen)));
  const unfinished = new Array<boolean>(batch).fill(true);
  let step: Tensor = ids;
  let past: LayerPast[] | undefined;
  for (let n = 0; n < maxNew && unfinished.some(Boolean); n++) {
    const out = noGrad(() => model.forward({ inputIds: step, attentionMask: mask, pastKeyValues: past, useCache: true,
      positionIds: positionsFromMask(mask, step.shape[1]), logitsToKeep: 1 }));
    if (!out.pastKeyValues) throw new Error("generate: the model returned no pastKeyValues with useCache");
    // After the prompt, room for every token still to come, so the steps append to the cache in place.
    past = n === 0 ? growableCache(out.pastKeyValues, maxNew - 1) : out.pastKeyValues;
    const next = new Int32Array(batch);
    const [, len, vocab] = out.logits.shape;
    for (let b = 0; b < batch; b++) {
      const start = (b * len + len - 1) * vocab;
      const scores = Float32Array.from(out.logits.f.subarray(start, start + vocab));
      next[b] = unfinished[b] ? pick(scores, rows[b]) : pad!;
      rows[b].push(next[b]);
      if (eos.includes(next[b])) unfinished[b] = false;
    }
    yield next;
    step = new Tensor(next, [batch, 1]);
    mask = cat([mask, ones([batch, 1], { dtype: mask.dtype })], 1);
  }
}

function toIdList(v: number | number[] | null | undefined): number[] {
  return v === null || v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function defaultAttentionMask(ids: Tensor, pad: number | null, eos: number[]): Tensor {
  const mask = new Float32Array(ids.numel).fill(1);
  if (pad !== null && !eos.includes(pad) && ids.data.includes(pad)) ids.data.forEach((t, i) => { if (t === pad) mask[i] = 0; });
  return new Tensor(mask, ids.shape);
}

function warnOnRightPadding(mask: Tensor): void {
  const [batch, seq] = mask.shape;
  for (let b = 0; b < batch; b++) {
    if (mask.data[b * seq + seq - 1] === 0) {
      warn("generate: right padding detected in a decoder-only model; pad on the left (padding_side = \"left\") " +
        "for correct generation results", "FINETUNE_RIGHT_PADDING");
      return;
    }
  }
}

/** transformers' prepare_inputs_for_generation: cumsum(mask) - 1, 1 at padding, last `seq` columns. */
export function positionsFromMask(mask: Tensor, seq: number): Tensor {
  const [batch, total] = mask.shape;
  const out = new Int32Array(batch * seq);
  for (let b = 0; b < batch; b++) {
    let count = 0;
    for (let t = 0; t < total; t++) {
      const on = mask.data[b * total + t] !== 0;
      if (on) count++;
      if (t >= total - seq) out[b * seq + t - (total - seq)] = on ? count - 1 : 1;
    }
  }
  return new Tensor(out, [batch, seq]);
}
