// Deterministic train/validation/test splitting for datasets that ship only a train split.
import type { DatasetDict } from "./types.js";

export interface SplitOptions {
  /** A fraction in (0, 1) (rounded up, as HF's train_test_split does) or a row count. */
  validation?: number;
  test?: number;
  /** Default 42. */
  seed?: number;
}

/**
 * Shuffles with a seeded PRNG, then takes the test rows first, the validation rows next, and leaves
 * the rest (still shuffled) for train. Same rows + same seed = same split, on every platform.
 */
export function splitDataset<T>(rows: readonly T[], opts: SplitOptions): DatasetDict<T[]> {
  const n = rows.length;
  const nTest = splitSize(opts.test, n, "test");
  const nValidation = splitSize(opts.validation, n, "validation");
  if (nTest + nValidation === 0) throw new Error("splitDataset: give a validation and/or test size");
  if (nTest + nValidation >= n) {
    throw new Error(`splitDataset: ${nValidation} validation + ${nTest} test rows leave no training rows out of ${n}`);
  }
  const order = shuffledIndices(n, mulberry32(opts.seed ?? 42));
  const pick = (from: number, to: number) => order.slice(from, to).map((i) => rows[i]!);
  const out: DatasetDict<T[]> = { train: pick(nTest + nValidation, n) };
  if (nValidation > 0) out.validation = pick(nTest, nTest + nValidation);
  if (nTest > 0) out.test = pick(0, nTest);
  return out;
}

function splitSize(size: number | undefined, n: number, name: string): number {
  if (size === undefined || size === 0) return 0;
  if (size > 0 && size < 1) return Math.ceil(size * n);
  if (Number.isInteger(size) && size >= 1) return size;
  throw new Error(`splitDataset: ${name} must be a fraction in (0, 1) or a whole number of rows, got ${size}`);
}

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit-state generator, uniform in [0, 1). Chosen
 * because it is a few lines of integer math that give the same stream in every JS engine; it is not
 * cryptographic and its 2^32 period is plenty for shuffling datasets.
 */
export function mulberry32(seed: number): () => number {
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates over 0..n-1. */
function shuffledIndices(n: number, random: () => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
