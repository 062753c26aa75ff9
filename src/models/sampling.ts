// Choosing the next token from a step's scores, as transformers' logits processors do it: the repetition penalty
// first (greedy search too), then, when sampling, temperature, top-k, top-p and min-p in that order, and a draw.
import { Generator, defaultGenerator } from "../tensor/index.js";

export interface SamplingOptions {
  /** Sample from the filtered distribution instead of taking the arg-max; default false. */
  doSample?: boolean;
  /** Sampling only: logits are divided by it; default 1. */
  temperature?: number;
  /** Sampling only: keep the k most likely tokens (ties kept), 0 = off; default 50 as transformers. */
  topK?: number;
  /** Sampling only: keep the smallest set of most likely tokens whose probability reaches topP; default 1 (off). */
  topP?: number;
  /** Sampling only: drop tokens whose probability is below minP times the most likely one's; default off. */
  minP?: number;
  /** Scores of tokens already in the sequence (prompt included) are divided by it when positive and multiplied by
   *  it when negative (CTRL's penalty, transformers' RepetitionPenaltyLogitsProcessor); default 1 (off). */
  repetitionPenalty?: number;
  /** Seeds a private generator for sampling, so the same seed gives the same tokens; default the global one. */
  seed?: number;
}

/** A function from a step's scores (modified in place) and the sequence so far to the next token. */
export type TokenPicker = (scores: Float32Array, sequence: readonly number[]) => number;

export function tokenPicker(opts: SamplingOptions): TokenPicker {
  const penalty = opts.repetitionPenalty ?? 1;
  if (!(penalty > 0)) throw new RangeError(`generate: repetitionPenalty must be positive, got ${penalty}`);
  const penalize = (scores: Float32Array, sequence: readonly number[]) => { if (penalty !== 1) repetitionPenalty(scores, sequence, penalty); };
  if (!opts.doSample) return (scores, sequence) => { penalize(scores, sequence); return argmax(scores); };
  const temperature = opts.temperature ?? 1, topK = opts.topK ?? 50, topP = opts.topP ?? 1, minP = opts.minP;
  if (!(temperature > 0)) throw new RangeError(`generate: temperature must be positive when sampling, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new RangeError(`generate: topK must be a non-negative integer, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`generate: topP must be in (0, 1], got ${topP}`);
  if (minP !== undefined && !(minP >= 0 && minP <= 1)) throw new RangeError(`generate: minP must be in [0, 1], got ${minP}`);
  const gen = opts.seed === undefined ? defaultGenerator : new Generator(opts.seed);
  return (scores, sequence) => {
    penalize(scores, sequence);
    if (temperature !== 1) for (let i = 0; i < scores.length; i++) scores[i] /= temperature;
    if (topK > 0) topKFilter(scores, topK);
    if (topP < 1) topPFilter(scores, topP);
    if (minP !== undefined && minP > 0) minPFilter(scores, minP);
    return sample(softmaxOf(scores), gen);
  };
}

/** Every token id that occurs in `sequence` gets score / penalty if positive, score * penalty otherwise. */
export function repetitionPenalty(scores: Float32Array, sequence: readonly number[], penalty: number): Float32Array {
  for (const id of new Set(sequence)) {
    if (id < 0 || id >= scores.length) continue;
    scores[id] = scores[id] < 0 ? scores[id] * penalty : scores[id] / penalty;
  }
  return scores;
}

function argmax(scores: Float32Array): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  return best;
}

/** Sets to -inf every score below the k-th largest (transformers' TopKLogitsWarper). */
export function topKFilter(scores: Float32Array, k: number): Float32Array {
  if (k >= scores.length) return scores;
  const kth = Float32Array.from(scores).sort().reverse()[k - 1];
  for (let i = 0; i < scores.length; i++) if (scores[i] < kth) scores[i] = -Infinity;
  return scores;
}

/** Sets to -inf the least likely tokens whose total probability stays within 1 - p; the most likely
 *  token always stays (transformers' TopPLogitsWarper). */
export function topPFilter(scores: Float32Array, p: number): Float32Array {
  const probs = softmaxOf(scores);
  const order = Array.from(scores.keys()).sort((a, b) => probs[a] - probs[b]);
  let cumulative = 0;
  for (let r = 0; r < order.length - 1; r++) {
    cumulative += probs[order[r]];
    if (cumulative > 1 - p) break;
    scores[order[r]] = -Infinity;
  }
  return scores;
}

/** Sets to -inf the tokens less likely than p times the most likely one; that one always stays (transformers'
 *  MinPLogitsWarper). */
export function minPFilter(scores: Float32Array, p: number): Float32Array {
  const probs = softmaxOf(scores);
  let top = 0;
  for (const q of probs) if (q > top) top = q;
  for (let i = 0; i < scores.length; i++) if (probs[i] < p * top) scores[i] = -Infinity;
  return scores;
}

function softmaxOf(scores: Float32Array): Float64Array {
  let max = -Infinity;
  for (const s of scores) if (s > max) max = s;
  const p = new Float64Array(scores.length);
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += p[i] = Math.exp(scores[i] - max);
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}

function sample(probs: Float64Array, gen: Generator): number {
  const u = gen.random();
  let acc = 0, last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) continue;
    acc += probs[i];
    last = i;
    if (u < acc) return i;
  }
  return last;
}
