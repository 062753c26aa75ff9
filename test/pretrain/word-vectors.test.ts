import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { IGNORE_INDEX } from "../../src/data/collate.js";
import { initEmbeddingsFromVectors, readWordVectorTargets, wordVectorLoss } from "../../src/pretrain/word-vectors.js";
import { Tensor, manualSeed, randn } from "../../src/tensor/index.js";
import { AutoTokenizer, type PreTrainedTokenizer } from "../../src/tokenizers/index.js";
import { tempDir } from "../io/fixtures.js";

let dir = "";
let cleanup = async () => {};
let tokenizer: PreTrainedTokenizer;
before(async () => {
  ({ dir, cleanup } = await tempDir("word-vectors"));
  tokenizer = await AutoTokenizer.fromPretrained(join(import.meta.dirname, "..", "data", "tokenizers", "bert-base-uncased"));
});
after(() => cleanup());

const VECTORS = ["good 3 4 0", "bad 0 0 2", "ing 1 1 1", "notaword-xyz 1 0 0", "the 0 5 0"].join("\n");

async function vectorsFile(name: string, text: string): Promise<string> {
  const f = join(dir, name);
  await writeFile(f, text);
  return f;
}

test("word vectors: whole-word tokens get their word's vector, centred on the covered words' mean and of unit length; word pieces, special tokens and unknown words none", async () => {
  const t = await readWordVectorTargets(await vectorsFile("v.txt", `${VECTORS}\n`), tokenizer);
  const id = (tok: string) => tokenizer.getVocab()[tok];
  assert.equal(t.dim, 3);
  assert.equal(t.coveredCount, 4, "good, bad, ing, the (the whole word 'ing' exists; '##ing' is a piece)");
  // Covered: good (3,4,0), bad (0,0,2), ing (1,1,1), the (0,5,0); mean (1, 2.5, 0.75); good - mean = (2, 1.5, -0.75).
  const norm = Math.hypot(2, 1.5, -0.75);
  assert.deepEqual([...t.vectors.subarray(id("good") * 3, id("good") * 3 + 3)].map((x) => +x.toFixed(6)), [2 / norm, 1.5 / norm, -0.75 / norm].map((x) => +x.toFixed(6)));
  assert.equal(t.covered[id("##ing")], 0);
  assert.equal(t.covered[id("[CLS]")], 0);
  assert.equal(t.covered[id("bad")], 1);
});

test("word vectors: a malformed file is named with its line", async () => {
  await assert.rejects(readWordVectorTargets(await vectorsFile("short.txt", "good 1 2 3\nbad 1 2\n"), tokenizer), /short\.txt:2: 2 numbers, the first line had 3/);
  await assert.rejects(readWordVectorTargets(await vectorsFile("nan.txt", "good 1 2 3\nbad 1 x 3\n"), tokenizer), /nan\.txt:2: "x" is not a number/);
  await assert.rejects(readWordVectorTargets(await vectorsFile("none.txt", "zzzqqq 1 2\n"), tokenizer), /none of the tokenizer's words/);
});

test("word-vector loss: 1 - cosine of the first k hidden coordinates, per word (masked ones by their label) and at position 0 the block's mean", async () => {
  const t = await readWordVectorTargets(await vectorsFile("v.txt", VECTORS), tokenizer);
  const v = tokenizer.getVocab();
  const [cls, good, bad, the, mask, sep] = [v["[CLS]"], v.good, v.bad, v.the, v["[MASK]"], v["[SEP]"]];
  // Row 0: [CLS] good [MASK](=bad) the [SEP]; row 1: the good [SEP] pad pad (padding ignored).
  const inputIds = new Tensor(Int32Array.from([cls, good, mask, the, sep, the, good, sep, 0, 0]), [2, 5]);
  const labels = new Tensor(Int32Array.from([IGNORE_INDEX, IGNORE_INDEX, bad, IGNORE_INDEX, IGNORE_INDEX, ...Array(5).fill(IGNORE_INDEX)]), [2, 5]);
  const attentionMask = new Tensor(Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]), [2, 5]);
  manualSeed(3);
  const h = randn([2, 5, 4], { requiresGrad: true });

  const vec = (id: number) => [...t.vectors.subarray(id * 3, id * 3 + 3)];
  const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0) / Math.hypot(...a) / Math.hypot(...b);
  const hRow = (i: number) => [...h.data.subarray(i * 4, i * 4 + 3)];
  const tokenPairs: [number, number][] = [[1, good], [2, bad], [3, the], [6, good]];
  const tokenLoss = tokenPairs.reduce((s, [row, id]) => s + 1 - cos(hRow(row), vec(id)), 0) / tokenPairs.length;
  const meanOf = (ids: number[]) => [0, 1, 2].map((k) => ids.reduce((s, id) => s + vec(id)[k], 0));
  const firstLoss = (1 - cos(hRow(0), meanOf([good, bad, the])) + 1 - cos(hRow(5), meanOf([the, good]))) / 2;

  const loss = wordVectorLoss(h, inputIds, labels, attentionMask, t);
  assert.ok(Math.abs(loss.item() - (tokenLoss + firstLoss) / 2) < 1e-5, `${loss.item()} vs ${(tokenLoss + firstLoss) / 2}`);
  loss.backward();
  const g = h.grad!.data;
  assert.ok([...g.subarray(4 * 4, 5 * 4)].every((x) => x === 0), "[SEP] has no vector: no gradient");
  assert.ok(g.subarray(4, 7).some((x) => x !== 0) && g[7] === 0, "only the first k coordinates are read");
});

test("embeddings from vectors: covered rows take their vector in the first k coordinates, scaled to those coordinates' mean norm; the rest stays", async () => {
  const t = await readWordVectorTargets(await vectorsFile("v.txt", VECTORS), tokenizer);
  manualSeed(5);
  const emb = randn([tokenizer.length, 5]);
  const before = Float32Array.from(emb.data as Float32Array);
  const v = tokenizer.getVocab();
  const covered = ["good", "bad", "ing", "the"].map((w) => v[w]);
  const meanNorm = covered.reduce((s, id) => s + Math.hypot(...before.subarray(id * 5, id * 5 + 3)), 0) / covered.length;
  initEmbeddingsFromVectors(emb, t);
  const row = (id: number) => [...(emb.data as Float32Array).subarray(id * 5, id * 5 + 5)];
  for (const id of covered) {
    const expected = [...t.vectors.subarray(id * 3, id * 3 + 3)].map((x) => x * meanNorm);
    row(id).slice(0, 3).forEach((x, k) => assert.ok(Math.abs(x - expected[k]) < 1e-5, `row ${id} coordinate ${k}`));
    assert.deepEqual(row(id).slice(3), [...before.subarray(id * 5 + 3, id * 5 + 5)], "coordinates past k untouched");
  }
  assert.deepEqual(row(v["[CLS]"]), [...before.subarray(v["[CLS]"] * 5, v["[CLS]"] * 5 + 5)], "uncovered rows untouched");
});

test("embeddings from vectors for words added to a vocabulary: only rows from the first new id are written, scaled to the older covered rows' norm", async () => {
  const t = await readWordVectorTargets(await vectorsFile("v.txt", VECTORS), tokenizer);
  manualSeed(6);
  const emb = randn([tokenizer.length, 5]);
  const before = Float32Array.from(emb.data as Float32Array);
  const covered = [...t.covered.keys()].filter((id) => t.covered[id]).sort((a, b) => a - b);
  const firstNew = covered.at(-1)!;
  const older = covered.filter((id) => id < firstNew);
  const olderNorm = older.reduce((s, id) => s + Math.hypot(...before.subarray(id * 5, id * 5 + 3)), 0) / older.length;
  initEmbeddingsFromVectors(emb, t, firstNew);
  const row = (id: number) => [...(emb.data as Float32Array).subarray(id * 5, id * 5 + 5)];
  for (const id of older) assert.deepEqual(row(id), [...before.subarray(id * 5, id * 5 + 5)], `row ${id} is not new: untouched`);
  const expected = [...t.vectors.subarray(firstNew * 3, firstNew * 3 + 3)].map((x) => x * olderNorm);
  row(firstNew).slice(0, 3).forEach((x, k) => assert.ok(Math.abs(x - expected[k]) < 1e-5, `new row coordinate ${k}`));
});
