// Shared bits of the reliability tests: where the fixtures are, temp folders, a seeded PRNG, and the check
// that an error is a proper Error naming the file it is about.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { mulberry32 } from "../../../src/data/split.js";
import { scratchDir } from "../../helpers/temp-dir.js";

export { DATA, FIXTURES } from "../../helpers/fixtures.js";
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await scratchDir(`finetune-reliability-${prefix}-`);
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A small seeded PRNG (the project's mulberry32), so every fuzz case can be replayed from its seed. */
export function prng(seed: number): { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T } {
  const next = mulberry32(seed >>> 0);
  return { next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)]! };
}

/** Asserts `err` is an Error (not a string, not undefined) whose message names `file` and matches `pattern`. */
export function assertNamesFile(err: unknown, file: string, pattern?: RegExp): asserts err is Error {
  assert.ok(err instanceof Error, `expected an Error, got ${typeof err}: ${String(err)}`);
  assert.ok(err.message.includes(file), `the message should name ${file}: ${err.message}`);
  if (pattern) assert.match(err.message, pattern);
}

/** The rejection of `promise` (fails if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail("expected an error, but it succeeded"),
    (e: unknown) => e,
  );
}

/** Resolves `promise` or fails after `ms` (for asynchronous hangs; a synchronous hang needs a worker, see fuzz.test.ts). */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
