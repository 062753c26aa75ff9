import { test } from "node:test";
import assert from "node:assert/strict";
import { IGNORE_INDEX, collate, type Example } from "../../src/data/collate.js";
import { DataLoader } from "../../src/data/dataloader.js";
import { manualSeed } from "../../src/tensor/index.js";
import { uciExamples } from "../train/helpers/setup.js";

const ex = (ids: number[], extra: Partial<Example> = {}): Example => ({ inputIds: ids, ...extra });

test("collate pads to the longest example, right or left, with masks and class labels", () => {
  const right = collate([ex([5, 6, 7], { label: 1 }), ex([8], { label: 0 })], [3, 9], { padTokenId: 0 });
  assert.deepEqual(right.inputIds.shape, [2, 3]);
  assert.equal(right.inputIds.dtype, "int32");
  assert.deepEqual(right.inputIds.toArray(), [[5, 6, 7], [8, 0, 0]]);
  assert.deepEqual(right.attentionMask.toArray(), [[1, 1, 1], [1, 0, 0]]);
  assert.deepEqual(right.labels!.toArray(), [1, 0]);
  assert.equal(right.labels!.dtype, "int32");
  assert.deepEqual(right.indices, [3, 9]);
  assert.equal(right.size, 2);

  const left = collate([ex([5, 6, 7], { label: 1 }), ex([8], { label: 0 })], [0, 1], { padTokenId: 99, paddingSide: "left" });
  assert.deepEqual(left.inputIds.toArray(), [[5, 6, 7], [99, 99, 8]]);
  assert.deepEqual(left.attentionMask.toArray(), [[1, 1, 1], [0, 0, 1]]);
});

test("collate pads token labels with -100 and keeps token type ids", () => {
  const b = collate([ex([1, 2], { labels: [IGNORE_INDEX, 2], tokenTypeIds: [0, 1] }), ex([3, 4, 5], { labels: [3, 4, 5], tokenTypeIds: [0, 0, 1] })], [0, 1], { padTokenId: 0 });
  assert.deepEqual(b.labels!.shape, [2, 3]);
  assert.deepEqual(b.labels!.toArray(), [[-100, 2, -100], [3, 4, 5]]);
  assert.deepEqual(b.tokenTypeIds!.toArray(), [[0, 1, 0], [0, 0, 1]]);
  assert.throws(() => collate([ex([1], { label: 0 }), ex([2])], [0, 1], { padTokenId: 0 }), /different fields/);
});

const numbered = (n: number): Example[] => Array.from({ length: n }, (_, i) => ex(Array.from({ length: 1 + (i * 7) % 13 }, () => i + 1), { label: i % 2 }));

test("batch counts with and without dropLast; every example once per epoch", () => {
  const data = numbered(10);
  assert.equal(new DataLoader(data, { batchSize: 4, padTokenId: 0, seed: 1 }).length, 3);
  assert.equal(new DataLoader(data, { batchSize: 4, padTokenId: 0, seed: 1, dropLast: true }).length, 2);
  const dl = new DataLoader(data, { batchSize: 4, padTokenId: 0, shuffle: true, seed: 1 });
  const seen = [...dl].flatMap((b) => b.indices).sort((a, b) => a - b);
  assert.deepEqual(seen, Array.from({ length: 10 }, (_, i) => i));
  assert.deepEqual(dl.batchIndices(0).map((b) => b.length), [4, 4, 2]);
});

test("shuffling is a function of (seed, epoch): reproducible, different per epoch, resumable mid-epoch", () => {
  const data = numbered(40);
  const a = new DataLoader(data, { batchSize: 4, padTokenId: 0, shuffle: true, seed: 3 });
  const b = new DataLoader(data, { batchSize: 4, padTokenId: 0, shuffle: true, seed: 3 });
  assert.deepEqual(a.batchIndices(0), b.batchIndices(0));
  assert.notDeepEqual(a.batchIndices(0), a.batchIndices(1));
  assert.notDeepEqual(a.batchIndices(0), new DataLoader(data, { batchSize: 4, padTokenId: 0, shuffle: true, seed: 4 }).batchIndices(0));
  assert.deepEqual(a.batchIndices(0).flat().length, 40);
  const tail = [...a.iterate(1, 6)].map((x) => x.indices);
  assert.deepEqual(tail, a.batchIndices(1).slice(6));
  a.setEpoch(1);
  assert.deepEqual([...a].map((x) => x.indices), a.batchIndices(1));
  // Restoring the saved seed gives the same order however the loader was built.
  const c = new DataLoader(data, { batchSize: 4, padTokenId: 0, shuffle: true });
  c.loadStateDict(a.stateDict());
  assert.deepEqual(c.batchIndices(5), a.batchIndices(5));
  // Without a seed, the loader's order follows manualSeed.
  manualSeed(11);
  const d = new DataLoader(data, { batchSize: 4, padTokenId: 0, shuffle: true });
  manualSeed(11);
  const e = new DataLoader(data, { batchSize: 4, padTokenId: 0, shuffle: true });
  assert.deepEqual(d.batchIndices(0), e.batchIndices(0));
  assert.equal(new DataLoader(data, { batchSize: 4, padTokenId: 0 }).batchIndices(0).flat().join(), data.map((_, i) => i).join(), "no shuffle keeps order");
});

test("length bucketing on real tokenized sentences cuts padding and still covers every example", async () => {
  const data = await uciExamples("train", 800);
  const padded = (dl: DataLoader, epoch: number) => [...dl.iterate(epoch)].reduce((s, b) => s + b.inputIds.numel, 0);
  const plain = new DataLoader(data, { batchSize: 8, padTokenId: 0, shuffle: true, seed: 5 });
  const bucketed = new DataLoader(data, { batchSize: 8, padTokenId: 0, shuffle: true, seed: 5, bucketByLength: { chunkBatches: 20 } });
  const tokens = data.reduce((s, e) => s + e.inputIds.length, 0);
  assert.ok(padded(bucketed, 0) < padded(plain, 0), `bucketed ${padded(bucketed, 0)} vs plain ${padded(plain, 0)} (real tokens ${tokens})`);
  assert.ok((padded(bucketed, 0) - tokens) * 3 < padded(plain, 0) - tokens, "padding at least 3x smaller");
  for (const epoch of [0, 1]) assert.deepEqual(bucketed.batchIndices(epoch).flat().sort((a, b) => a - b), data.map((_, i) => i));
  assert.notDeepEqual(bucketed.batchIndices(0), bucketed.batchIndices(1));
  const lens = bucketed.batchIndices(0).map((b) => b.map((i) => data[i].inputIds.length));
  assert.notDeepEqual(lens.map((l) => Math.max(...l)), [...lens.map((l) => Math.max(...l))].sort((a, b) => b - a), "batch order is shuffled, not longest-first");
  const dropped = new DataLoader(data.slice(0, 100), { batchSize: 8, padTokenId: 0, shuffle: true, seed: 5, bucketByLength: true, dropLast: true });
  assert.ok(dropped.batchIndices(0).every((b) => b.length === 8));
  assert.equal(dropped.batchIndices(0).length, dropped.length);
});
