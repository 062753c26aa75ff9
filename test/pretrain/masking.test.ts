import assert from "node:assert/strict";
import { test } from "node:test";
import { IGNORE_INDEX } from "../../src/data/collate.js";
import { MaskedBlockLoader } from "../../src/pretrain/loader.js";
import { maskTokens } from "../../src/pretrain/masking.js";
import { Generator } from "../../src/tensor/index.js";

const MASK = 4, VOCAB = 1000;
const specialIds = new Set([0, 1, 2, 3, 4]);
const opts = { maskTokenId: MASK, vocabSize: VOCAB, specialIds };

test("the collator's proportions: 15% chosen, of those 80% [MASK], 10% random, 10% kept", () => {
  const n = 200_000;
  const ids = Int32Array.from({ length: n }, (_, i) => (i % 50 === 0 ? 2 : 5 + (i % 900)));
  const { inputIds, labels } = maskTokens(ids, opts, new Generator(7));
  let chosen = 0, masked = 0, kept = 0, changed = 0, eligible = 0;
  for (let i = 0; i < n; i++) {
    if (!specialIds.has(ids[i])) eligible++;
    if (labels[i] === IGNORE_INDEX) {
      assert.equal(inputIds[i], ids[i], "unchosen tokens are left alone");
      continue;
    }
    assert.ok(!specialIds.has(ids[i]), "special tokens are never chosen");
    assert.equal(labels[i], ids[i], "the label is the original token");
    chosen++;
    if (inputIds[i] === MASK) masked++;
    else if (inputIds[i] === ids[i]) kept++;
    else changed++;
  }
  const near = (x: number, want: number, tol: number, what: string) => assert.ok(Math.abs(x - want) < tol, `${what}: ${x.toFixed(4)} vs ${want}`);
  near(chosen / eligible, 0.15, 0.005, "chosen");
  near(masked / chosen, 0.8, 0.01, "[MASK]");
  // A random replacement can draw the original id (1 in VOCAB), which then counts as kept.
  near(changed / chosen, 0.1, 0.01, "random");
  near(kept / chosen, 0.1, 0.01, "kept");
});

test("masking is a pure function of the generator's seed", () => {
  const ids = Int32Array.from({ length: 500 }, (_, i) => 5 + i);
  assert.deepEqual(maskTokens(ids, opts, new Generator(3)), maskTokens(ids, opts, new Generator(3)));
  assert.notDeepEqual(maskTokens(ids, opts, new Generator(3)).labels, maskTokens(ids, opts, new Generator(4)).labels);
});

test("MaskedBlockLoader: every block once per epoch, masks fixed by (seed, epoch, batch) so a resumed epoch repeats them", () => {
  const blocks = Array.from({ length: 10 }, (_, b) => Int32Array.from({ length: 8 }, (_, i) => 5 + b * 8 + i));
  const loader = new MaskedBlockLoader(blocks, opts, { batchSize: 4, shuffle: true, seed: 11 });
  assert.equal(loader.length, 3);
  const epoch = [...loader.iterate(1)];
  assert.deepEqual(epoch.flatMap((b) => b.indices).sort((a, b) => a - b), [...Array(10).keys()]);
  assert.deepEqual(epoch[0].inputIds.shape, [4, 8]);
  assert.ok(epoch.every((b) => b.attentionMask.data.every((m) => m === 1)), "packed blocks have no padding");
  const resumed = [...loader.iterate(1, 2)];
  assert.deepEqual(resumed[0].inputIds.data, epoch[2].inputIds.data);
  assert.deepEqual(resumed[0].labels!.data, epoch[2].labels!.data);
  assert.notDeepEqual([...loader.iterate(2)][0].indices, epoch[0].indices);
});

test("MaskedBlockLoader: rows of mixed lengths go to batches of like length, padded with attention 0 and never masked", () => {
  const PAD = 0;
  const row = (len: number, first: number) => Int32Array.from({ length: len }, (_, i) => 5 + ((first + i) % 900));
  // 16 blocks of 32 and 48 sentences of 5 to 12 tokens.
  const rows = [...Array.from({ length: 16 }, (_, b) => row(32, b)), ...Array.from({ length: 48 }, (_, s) => row(5 + (s % 8), 100 + s))];
  const loader = new MaskedBlockLoader(rows, { ...opts, mlmProbability: 0.5 }, { batchSize: 8, shuffle: true, seed: 3, padTokenId: PAD });
  const epoch = [...loader.iterate(0)];
  assert.deepEqual(epoch.flatMap((b) => b.indices).sort((a, b) => a - b), [...Array(rows.length).keys()]);
  assert.equal(epoch.filter((b) => b.inputIds.shape[1] === 32).length, 2, "the blocks fill two batches of their own");
  for (const b of epoch) {
    const [n, len] = b.inputIds.shape;
    assert.equal(len, Math.max(...b.indices.map((i) => rows[i].length)), "padded to the batch's longest row only");
    for (let k = 0; k < n; k++) {
      const own = rows[b.indices[k]].length;
      for (let j = 0; j < len; j++) {
        const at = k * len + j;
        assert.equal(b.attentionMask.data[at], j < own ? 1 : 0);
        if (j >= own) {
          assert.equal(b.inputIds.data[at], PAD);
          assert.equal(b.labels!.data[at], IGNORE_INDEX, "padding is never chosen");
        }
      }
    }
  }
  assert.deepEqual([...loader.iterate(0, 3)][0].inputIds.data, epoch[3].inputIds.data, "a resumed epoch repeats its batches");
});
