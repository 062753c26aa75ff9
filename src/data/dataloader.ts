// Batches over pre-tokenized examples. The order of an epoch is a pure function of (seed, epoch): each epoch
// shuffles with a fresh Generator seeded seed + epoch, so a run resumes at (epoch, batch index) without
// replaying the loader, and two loaders with the same seed yield the same batches.
import { Generator, defaultGenerator } from "../tensor/index.js";
import { collate, type Batch, type CollateOptions, type Example } from "./collate.js";

export interface DataLoaderOptions extends CollateOptions {
  batchSize: number;
  shuffle?: boolean;
  /** Default: drawn from the default generator, so manualSeed() before building the loader fixes it. */
  seed?: number;
  dropLast?: boolean;
  /** Puts examples of similar length in the same batch to cut padding: the (shuffled) order is cut into chunks
   *  of `chunkBatches` batches (default 50), each chunk is sorted by length, and then the batch order is shuffled. */
  bucketByLength?: boolean | { chunkBatches: number };
}

export interface DataLoaderState {
  seed: number;
}

/** What the trainer needs from a loader; DataLoader is one. */
export interface Loader<B> {
  readonly length: number;
  iterate(epoch: number, startBatch?: number): Iterable<B>;
  stateDict?(): DataLoaderState;
  loadStateDict?(state: DataLoaderState): void;
}

export class DataLoader implements Loader<Batch>, Iterable<Batch> {
  readonly batchSize: number;
  seed: number;
  /** The epoch `for (const b of loader)` walks; the trainer passes epochs explicitly instead. */
  epoch = 0;

  constructor(readonly examples: readonly Example[], readonly opts: DataLoaderOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${opts.batchSize}`);
    if (examples.length === 0) throw new Error("DataLoader: no examples");
    this.batchSize = opts.batchSize;
    this.seed = opts.seed ?? defaultGenerator.nextUint32();
  }

  get length(): number {
    const n = this.examples.length / this.batchSize;
    return this.opts.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  setEpoch(epoch: number): void {
    this.epoch = epoch;
  }

  /** The example indices of every batch of `epoch`, in order. */
  batchIndices(epoch: number): number[][] {
    const n = this.examples.length, bs = this.batchSize;
    const gen = new Generator((this.seed + epoch) >>> 0);
    const order = Array.from({ length: n }, (_, i) => i);
    if (this.opts.shuffle) shuffleInPlace(order, gen);
    const bucket = this.opts.bucketByLength;
    if (bucket) {
      const chunk = bs * (bucket === true ? 50 : bucket.chunkBatches);
      const len = (i: number) => this.examples[i].inputIds.length;
      for (let s = 0; s < n; s += chunk) {
        const sorted = order.slice(s, s + chunk).sort((a, b) => len(b) - len(a));
        order.splice(s, sorted.length, ...sorted);
      }
    }
    const batches: number[][] = [];
    for (let s = 0; s < n; s += bs) batches.push(order.slice(s, s + bs));
    if (this.opts.dropLast && batches.length > 0 && batches[batches.length - 1].length < bs) batches.pop();
    // Sorted chunks would otherwise run from long to short batches in every epoch.
    if (bucket && this.opts.shuffle) shuffleInPlace(batches, gen);
    return batches;
  }

  *iterate(epoch: number, startBatch = 0): IterableIterator<Batch> {
    const batches = this.batchIndices(epoch);
    for (let i = startBatch; i < batches.length; i++) {
      yield collate(batches[i].map((j) => this.examples[j]), batches[i], this.opts);
    }
  }

  [Symbol.iterator](): Iterator<Batch> {
    return this.iterate(this.epoch);
  }

  stateDict(): DataLoaderState {
    return { seed: this.seed };
  }

  loadStateDict(state: DataLoaderState): void {
    this.seed = state.seed;
  }
}

function shuffleInPlace<T>(a: T[], gen: Generator): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = gen.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
}
