// Packing for causal-LM training: short examples share one row of up to `blockSize` tokens instead of each being
// padded to the longest of its batch. Each example keeps its own positions (0, 1, ... again at its start), and the
// model reads a restart of the positions as the start of a new sequence that attends only within itself, so a
// packed row computes what its examples would alone: the same loss, with less padding.
//
// Examples are placed whole, best-fit decreasing (TRL's "bfd" strategy): longest first, each into the row whose
// free space it fills best, so rows come out nearly full and no example is split.
import { IGNORE_INDEX, type Example } from "./collate.js";

/**
 * Packs causal-LM examples (with per-token labels) into rows of at most `blockSize` tokens. Each packed example's
 * first label becomes -100: in a row of its own no token predicts it, so none may in a packed row either.
 */
export function packExamples(examples: readonly Example[], blockSize: number): Example[] {
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
  const order = examples.map((_, i) => i).sort((a, b) => examples[b]!.inputIds.length - examples[a]!.inputIds.length);
  const rows: number[][] = [];
  const space = new FreeSpace(blockSize);
  for (const i of order) {
    const e = examples[i]!;
    if (e.labels === undefined) throw new Error(`packExamples: example ${i} has no per-token labels; packing is for causal-LM examples`);
    const n = e.inputIds.length;
    if (n > blockSize) throw new RangeError(`packExamples: example ${i} has ${n} tokens, more than the block size ${blockSize}`);
    let row = space.takeBestFit(n);
    if (row === null) { rows.push([]); row = { index: rows.length - 1, free: blockSize }; }
    rows[row.index]!.push(i);
    if (row.free > n) space.add(row.index, row.free - n);
  }
  return rows.map((members) => {
    const row: Example = { inputIds: [], labels: [], positionIds: [] };
    for (const i of members) {
      const e = examples[i]!;
      row.inputIds.push(...e.inputIds);
      row.labels!.push(IGNORE_INDEX, ...e.labels!.slice(1));
      row.positionIds!.push(...e.inputIds.map((_, t) => t));
    }
    return row;
  });
}

/** Rows by free space, with a count tree over the free sizes 0..blockSize so the best fit (the smallest free space
 *  that holds n tokens) is found in O(log blockSize) instead of by scanning every row. */
class FreeSpace {
  private readonly rows: number[][];
  private readonly counts: Int32Array;
  private readonly leaves: number;

  constructor(blockSize: number) {
    this.leaves = 1 << Math.ceil(Math.log2(blockSize + 1));
    this.counts = new Int32Array(2 * this.leaves);
    this.rows = Array.from({ length: blockSize + 1 }, () => []);
  }

  add(row: number, free: number): void {
    this.rows[free]!.push(row);
    for (let node = this.leaves + free; node >= 1; node >>= 1) this.counts[node]!++;
  }

  /** Removes and returns the row with the least free space of at least n, or null. */
  takeBestFit(n: number): { index: number; free: number } | null {
    const free = this.firstAtLeast(n, 1, 0, this.leaves);
    if (free < 0) return null;
    for (let node = this.leaves + free; node >= 1; node >>= 1) this.counts[node]!--;
    return { index: this.rows[free]!.pop()!, free };
  }

  /** The smallest free size >= n with a row, within the node covering [lo, lo + width). */
  private firstAtLeast(n: number, node: number, lo: number, width: number): number {
    if (this.counts[node] === 0 || lo + width <= n) return -1;
    if (width === 1) return lo;
    const half = width / 2;
    const left = this.firstAtLeast(n, 2 * node, lo, half);
    return left >= 0 ? left : this.firstAtLeast(n, 2 * node + 1, lo + half, half);
  }
}
