// Batches of packed blocks for the Trainer. The block order of an epoch comes from a DataLoader (a pure
// function of seed and epoch), and each batch is masked with a generator seeded from (seed, epoch, batch),
// so a resumed run sees exactly the masks it would have seen, and a validation pass masks the same way
// every time (its losses are comparable across the run).
import type { Batch } from "../data/collate.js";
import { DataLoader, type Loader } from "../data/dataloader.js";
import { Generator, Tensor } from "../tensor/index.js";
import { maskTokens, type MaskingOptions } from "./masking.js";

export interface BlockLoaderOptions {
  batchSize: number;
  shuffle?: boolean;
  seed?: number;
}

export class MaskedBlockLoader implements Loader<Batch> {
  private readonly order: DataLoader;

  constructor(readonly blocks: readonly Int32Array[], readonly masking: MaskingOptions, opts: BlockLoaderOptions) {
    if (blocks.length === 0) throw new Error("no text blocks to train on: the text is shorter than one block (lower --max-length or add text)");
    // Only its batch order is used; the examples stand in for the blocks.
    this.order = new DataLoader(blocks.map(() => ({ inputIds: [] })), { ...opts, padTokenId: 0 });
  }

  get length(): number {
    return this.order.length;
  }

  *iterate(epoch: number, startBatch = 0): IterableIterator<Batch> {
    const batches = this.order.batchIndices(epoch);
    for (let b = startBatch; b < batches.length; b++) {
      const gen = new Generator(batchSeed(this.order.seed, epoch, b));
      const rows = batches[b].map((i) => maskTokens(this.blocks[i], this.masking, gen));
      const len = this.blocks[0].length;
      const ids = new Int32Array(rows.length * len), labels = new Int32Array(rows.length * len);
      rows.forEach((r, k) => { ids.set(r.inputIds, k * len); labels.set(r.labels, k * len); });
      yield {
        inputIds: new Tensor(ids, [rows.length, len]),
        attentionMask: new Tensor(new Int32Array(rows.length * len).fill(1), [rows.length, len]),
        labels: new Tensor(labels, [rows.length, len]),
        indices: batches[b],
        size: rows.length,
      };
    }
  }

  stateDict() {
    return this.order.stateDict();
  }

  loadStateDict(state: { seed: number }): void {
    this.order.loadStateDict(state);
  }
}

function batchSeed(seed: number, epoch: number, batch: number): number {
  return (seed ^ Math.imul(epoch + 1, 0x9e3779b1) ^ Math.imul(batch + 1, 0x85ebca6b)) >>> 0;
}
