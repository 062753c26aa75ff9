// Batches of masked-LM rows for the Trainer: packed blocks, and (when a run mixes them in) single sentences,
// shorter, padded to the longest row of their batch. The row order of an epoch comes from a DataLoader (a pure
// function of seed and epoch; rows of mixed lengths are bucketed by length, so a batch of sentences is not
// padded to a block's length), and each batch is masked with a generator seeded from (seed, epoch, batch), so a
// resumed run sees exactly the masks it would have seen, and a validation pass masks the same way every time
// (its losses are comparable across the run).
import type { Batch } from "../data/collate.js";
import { DataLoader, type Loader } from "../data/dataloader.js";
import { IGNORE_INDEX } from "../data/collate.js";
import { Generator, Tensor } from "../tensor/index.js";
import { maskTokens, type MaskingOptions } from "./masking.js";

export interface BlockLoaderOptions {
  batchSize: number;
  shuffle?: boolean;
  seed?: number;
  /** Fills rows shorter than their batch's longest (default 0); never masked, as a special token. */
  padTokenId?: number;
}

export class MaskedBlockLoader implements Loader<Batch> {
  private readonly order: DataLoader;
  private readonly padTokenId: number;

  constructor(readonly blocks: readonly Int32Array[], readonly masking: MaskingOptions, opts: BlockLoaderOptions) {
    if (blocks.length === 0) throw new Error("no text blocks to train on: the text is shorter than one block (lower --max-length or add text)");
    this.padTokenId = opts.padTokenId ?? 0;
    const mixed = blocks.some((b) => b.length !== blocks[0].length);
    // Only its batch order is used: the examples stand in for the rows, with their lengths for bucketing.
    this.order = new DataLoader(blocks.map((b) => ({ inputIds: new Array<number>(b.length) })), { ...opts, padTokenId: this.padTokenId, bucketByLength: mixed });
  }

  get length(): number {
    return this.order.length;
  }

  *iterate(epoch: number, startBatch = 0): IterableIterator<Batch> {
    const batches = this.order.batchIndices(epoch);
    for (let b = startBatch; b < batches.length; b++) {
      const gen = new Generator(batchSeed(this.order.seed, epoch, b));
      const rows = batches[b].map((i) => maskTokens(this.blocks[i], this.masking, gen));
      const len = Math.max(...rows.map((r) => r.inputIds.length));
      const ids = new Int32Array(rows.length * len).fill(this.padTokenId), labels = new Int32Array(rows.length * len).fill(IGNORE_INDEX);
      const mask = new Int32Array(rows.length * len);
      rows.forEach((r, k) => {
        ids.set(r.inputIds, k * len);
        labels.set(r.labels, k * len);
        mask.fill(1, k * len, k * len + r.inputIds.length);
      });
      yield {
        inputIds: new Tensor(ids, [rows.length, len]),
        attentionMask: new Tensor(mask, [rows.length, len]),
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
