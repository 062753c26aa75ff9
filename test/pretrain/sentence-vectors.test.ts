import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { readSentenceVectors, sentenceVectorLoss } from "../../src/pretrain/sentence-vectors.js";
import { manualSeed, randn } from "../../src/tensor/index.js";
import { tempDir } from "../io/fixtures.js";

let dir = "";
let cleanup = async () => {};
before(async () => { ({ dir, cleanup } = await tempDir("sentence-vectors")); });
after(() => cleanup());

async function file(name: string, lines: string[]): Promise<string> {
  const f = join(dir, name);
  await writeFile(f, `${lines.join("\n")}\n`);
  return f;
}
const row = (text: string, vector: unknown) => JSON.stringify({ text, vector });

test("sentence vectors: each sentence with its teacher vector scaled to unit length", async () => {
  const s = await readSentenceVectors(await file("ok.jsonl", [row("A fine film.", [3, 4, 0]), "", row("Dull and long.", [0, 0, -2])]));
  assert.equal(s.dim, 3);
  assert.deepEqual(s.texts, ["A fine film.", "Dull and long."]);
  assert.deepEqual([...s.vectors].map((x) => +x.toFixed(6)), [0.6, 0.8, 0, 0, 0, -1]);
});

test("sentence vectors: a malformed line is named with its file and line", async () => {
  const bad = async (lines: string[], message: RegExp) => assert.rejects(readSentenceVectors(await file("bad.jsonl", lines)), message);
  await bad([row("a b c", [1, 2]), "{oops"], /bad\.jsonl:2: not JSON/);
  await bad([row("a b c", [1, 2]), row("d e f", [1, 2, 3])], /bad\.jsonl:2: "vector" has 3 numbers, line 1's had 2/);
  await bad([row("a b c", [1, "x"])], /bad\.jsonl:1: "vector"\[1\] is not a finite number/);
  await bad([row("", [1, 2])], /bad\.jsonl:1: "text" must be a non-empty string/);
  await bad([row("a b c", [])], /bad\.jsonl:1: "vector" must be a non-empty array of numbers/);
  await bad([row("a b c", [0, 0])], /bad\.jsonl:1: "vector" is all zeros/);
  await bad([""], /bad\.jsonl: no sentences/);
});

test("sentence-vector loss: 1 - cosine of [CLS]'s coordinates [offset, offset + dim) with the row's sentence vector, over the rows that have one", async () => {
  const vectors = await readSentenceVectors(await file("v.jsonl", [row("s0 s0 s0", [1, 0, 0]), row("s1 s1 s1", [0, 1, 1]), row("s2 s2 s2", [2, -1, 0])]));
  const t = { firstRow: 5, offset: 2, vectors };
  manualSeed(7);
  const h = randn([3, 4, 6], { requiresGrad: true });
  // Batch rows are training rows 7 (sentence 2), 2 (a block: no sentence) and 5 (sentence 0).
  const rows = [7, 2, 5];
  const cls = (b: number) => [...h.data.subarray(b * 24 + 2, b * 24 + 5)];
  const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0) / Math.hypot(...a) / Math.hypot(...b);
  const want = (1 - cos(cls(0), [2, -1, 0]) + 1 - cos(cls(2), [1, 0, 0])) / 2;
  const loss = sentenceVectorLoss(h, rows, t)!;
  assert.ok(Math.abs(loss.item() - want) < 1e-6, `${loss.item()} vs ${want}`);
  loss.backward();
  const g = h.grad!.data;
  const nonzero = [...g.keys()].filter((i) => g[i] !== 0);
  assert.deepEqual([...new Set(nonzero.map((i) => `${Math.floor(i / 24)}:${Math.floor((i % 24) / 6)}`))], ["0:0", "2:0"], "only [CLS] of the rows with a sentence");
  assert.ok(nonzero.every((i) => i % 6 >= 2 && i % 6 < 5), "only coordinates 2-4");
  assert.equal(sentenceVectorLoss(h, [0, 1, 2], t), null, "a batch of blocks has no sentence loss");
  assert.throws(() => sentenceVectorLoss(h, rows, { ...t, offset: 4 }), /3 dimensions from coordinate 4, the hidden state only 6/);
});
