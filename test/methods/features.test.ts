import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { extractFeatures } from "../../src/methods/features/extract.js";
import { GPT2Model, gpt2Config, type ModelInput } from "../../src/models/index.js";
import { manualSeed } from "../../src/tensor/index.js";
import { AutoTokenizer } from "../../src/tokenizers/index.js";
import { DATA } from "../helpers/fixtures.js";
import { loadBertTokenizer, loadSentiment, tinyDistilBert } from "./real-data.js";

function countForwards(model: ReturnType<typeof tinyDistilBert>): { calls: number } {
  const counter = { calls: 0 };
  const forward = model.forward.bind(model);
  model.forward = (input: ModelInput) => { counter.calls++; return forward(input); };
  return counter;
}

test("features come back in input order whatever the batching, and padding does not leak in", async () => {
  const tokenizer = await loadBertTokenizer();
  const model = tinyDistilBert(1);
  const { texts } = loadSentiment(24);
  for (const pooling of ["cls", "mean", "last"] as const) {
    const batched = await extractFeatures(model, tokenizer, texts, { pooling, batchSize: 7, maxLength: 64 });
    const single = await extractFeatures(model, tokenizer, texts, { pooling, batchSize: 1, maxLength: 64 });
    assert.deepEqual(batched.shape, [24, 32]);
    let worst = 0;
    batched.data.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - single.data[i])); });
    assert.ok(worst < 1e-4, `${pooling}: batched vs one-by-one differ by ${worst}`);
  }
});

test("pooling picks the first token, the masked mean, or the last real token", async () => {
  const tokenizer = await loadBertTokenizer();
  const model = tinyDistilBert(2);
  const text = "a perfectly fine phone";
  const ids = await tokenizer.encode(text);
  const hidden = model.eval().forward({ inputIds: [ids], outputLastHiddenState: true }).lastHiddenState!;
  const dim = 32, n = ids.length;
  const row = (p: number) => [...hidden.data.slice(p * dim, (p + 1) * dim)];
  // A longer companion forces padding on our text's row.
  const texts = [text, "this one is much longer than the other sentence in the batch, by a lot"];
  const close = (a: ArrayLike<number>, b: number[]) => b.every((v, i) => Math.abs(a[i] - v) < 1e-5);
  const feats = async (pooling: "cls" | "mean" | "last") =>
    (await extractFeatures(model, tokenizer, texts, { pooling })).data.slice(0, dim);
  assert.ok(close(await feats("cls"), row(0)));
  assert.ok(close(await feats("last"), row(n - 1)));
  const mean = row(0).map((_, d) => Array.from({ length: n }, (_, p) => row(p)[d]).reduce((a, b) => a + b) / n);
  assert.ok(close(await feats("mean"), mean));
});

test("[CLS] pooling has an encoder classifier compute its last layer for position 0 alone; the others, every position", async () => {
  const tokenizer = await loadBertTokenizer();
  const model = tinyDistilBert(4);
  const asked: ModelInput["outputLastHiddenState"][] = [], widths: number[] = [];
  const forward = model.forward.bind(model);
  model.forward = (input: ModelInput) => {
    asked.push(input.outputLastHiddenState);
    const out = forward(input);
    widths.push(out.lastHiddenState!.shape[1]);
    return out;
  };
  const { texts } = loadSentiment(6);
  for (const pooling of ["cls", "mean", "last"] as const) await extractFeatures(model, tokenizer, texts, { pooling, batchSize: 6 });
  assert.deepEqual(asked, ["first", true, true]);
  assert.equal(widths[0], 1);
  assert.ok(widths[1] > 1 && widths[2] === widths[1]);
});

test("the cache skips every forward on a second call and returns identical values", async () => {
  const dir = await mkdtemp(join(tmpdir(), "features-"));
  try {
    const tokenizer = await loadBertTokenizer();
    const model = tinyDistilBert(3);
    model.train();
    const counter = countForwards(model);
    const { texts } = loadSentiment(40);
    const opts = { pooling: "mean" as const, batchSize: 16, maxLength: 64, cacheDir: dir };
    const first = await extractFeatures(model, tokenizer, texts, opts);
    assert.equal(counter.calls, 3);
    assert.ok(model.training, "training mode restored");
    const second = await extractFeatures(model, tokenizer, texts, opts);
    assert.equal(counter.calls, 3, "second call ran the model");
    assert.deepEqual(second.shape, first.shape);
    assert.deepEqual([...second.data], [...first.data]);
    assert.equal((await readdir(dir)).filter((f) => f.endsWith(".safetensors")).length, 1);

    // Anything that changes the features changes the key: pooling, maxLength, texts, weights.
    await extractFeatures(model, tokenizer, texts, { ...opts, pooling: "cls" });
    assert.equal(counter.calls, 6);
    await extractFeatures(model, tokenizer, texts, { ...opts, maxLength: 8 });
    assert.equal(counter.calls, 9);
    await extractFeatures(model, tokenizer, texts.slice(1), opts);
    assert.equal(counter.calls, 12);
    model.classifier.bias!.data[0] += 1;
    await extractFeatures(model, tokenizer, texts, opts);
    assert.equal(counter.calls, 15);
    assert.equal((await readdir(dir)).filter((f) => f.endsWith(".safetensors")).length, 5);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a causal LM defaults to last-token pooling; GPT-2's missing pad token is no obstacle", async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(join(DATA, "tokenizers/gpt2"));
  assert.equal(tokenizer.padTokenId, undefined);
  manualSeed(5);
  const model = new GPT2Model(gpt2Config({ nEmbd: 32, nLayer: 2, nHead: 4, nPositions: 128 }));
  const { texts } = loadSentiment(12);
  const batched = await extractFeatures(model, tokenizer, texts, { batchSize: 5, maxLength: 64 });
  const explicit = await extractFeatures(model, tokenizer, texts, { pooling: "last", batchSize: 1, maxLength: 64 });
  let worst = 0;
  batched.data.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - explicit.data[i])); });
  assert.ok(worst < 1e-4, `batched vs one-by-one differ by ${worst}`);
});

test("an empty text list gives [0, hidden]", async () => {
  const features = await extractFeatures(tinyDistilBert(), await loadBertTokenizer(), []);
  assert.deepEqual(features.shape, [0, 32]);
});
