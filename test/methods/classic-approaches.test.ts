// Raschka's three classic approaches on real text: feature-based, output layers only, all layers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LogisticRegression } from "../../src/methods/logistic-regression.js";
import { MLPClassifier } from "../../src/methods/mlp-classifier.js";
import { extractFeatures } from "../../src/methods/features/extract.js";
import { freeze, trainLastLayers, unfreeze } from "../../src/methods/freeze.js";
import { countParameters, trainableParameters } from "../../src/methods/trainable.js";
import type { DistilBertForSequenceClassification } from "../../src/models/index.js";
import { AdamW } from "../../src/optim/index.js";
import { Tensor, noGrad } from "../../src/tensor/index.js";
import { loadBertTokenizer, loadSentiment, tinyDistilBert } from "./real-data.js";

async function encodeBatch(texts: string[]): Promise<{ inputIds: Tensor; attentionMask: Tensor }> {
  const tokenizer = await loadBertTokenizer();
  const enc = await tokenizer.call(texts, { padding: true, truncation: true, maxLength: 48 });
  const shape = [texts.length, enc.inputIds[0].length];
  return { inputIds: new Tensor(Int32Array.from(enc.inputIds.flat()), shape), attentionMask: new Tensor(Int32Array.from(enc.attentionMask.flat()), shape) };
}

function snapshot(model: DistilBertForSequenceClassification): Map<string, Float32Array> {
  return new Map([...model.namedParameters()].map(([n, p]) => [n, Float32Array.from(p.data)]));
}

function changed(before: Float32Array, now: ArrayLike<number>): boolean {
  return before.some((v, i) => !Object.is(v, now[i]));
}

/** A few AdamW steps on one real batch with dropout off; returns the loss before and after. */
async function trainSteps(model: DistilBertForSequenceClassification, steps: number, lr: number): Promise<[number, number]> {
  const { texts, labels } = loadSentiment(64);
  const batch = { ...(await encodeBatch(texts)), labels: new Tensor(labels, [labels.length]) };
  const optimizer = new AdamW(trainableParameters(model).map(([, p]) => p), { lr });
  model.eval();
  const lossNow = () => noGrad(() => model.forward(batch).loss!.item());
  const before = lossNow();
  for (let s = 0; s < steps; s++) {
    optimizer.zeroGrad();
    model.forward(batch).loss!.backward();
    optimizer.step();
  }
  return [before, lossNow()];
}

test("feature-based: frozen DistilBERT features + logistic regression learn the training sentiment", async () => {
  const model = freeze(tinyDistilBert(11));
  const { texts, labels } = loadSentiment(300);
  const features = await extractFeatures(model, await loadBertTokenizer(), texts, { pooling: "mean", maxLength: 64 });
  assert.deepEqual(features.shape, [300, 32]);
  const clf = new LogisticRegression({ l2: 1e-4, maxIter: 500 }).fit(features, labels);
  const accuracy = clf.score(features, labels);
  assert.ok(accuracy > 0.65, `logistic regression train accuracy ${accuracy}`);
  const mlp = new MLPClassifier({ hiddenSizes: [64], lr: 3e-3, epochs: 100, seed: 1 }).fit(features, labels);
  assert.ok(mlp.score(features, labels) > 0.65, `MLP train accuracy ${mlp.score(features, labels)}`);
});

test("head only: the loss falls, the head moves, every frozen parameter stays bit-identical", async () => {
  const model = tinyDistilBert(12);
  const names = trainLastLayers(model, 0);
  assert.deepEqual(names.sort(), ["classifier.bias", "classifier.weight", "pre_classifier.bias", "pre_classifier.weight"]);
  assert.deepEqual(countParameters(model), { trainable: 32 * 32 + 32 + 2 * 32 + 2, all: model.numParameters() });
  const before = snapshot(model);
  const [start, end] = await trainSteps(model, 15, 1e-2);
  // A randomly initialised encoder (transformers' normal(0, 0.02) init) gives nearly the same [CLS] vector for
  // every text, so the head alone gets little below the label prior (ln 2 here): the loss falls, but not far.
  assert.ok(end < start - 0.002, `loss ${start} -> ${end}`);
  for (const [name, p] of model.namedParameters()) {
    if (names.includes(name)) assert.ok(changed(before.get(name)!, p.data), `${name} did not change`);
    else assert.ok(!changed(before.get(name)!, p.data), `frozen ${name} changed`);
  }
});

test("last layers: n = 1 adds the top block to the head", () => {
  const model = tinyDistilBert(13);
  const names = trainLastLayers(model, 1);
  assert.ok(names.every((n) => n.startsWith("distilbert.transformer.layer.1.") || /^(pre_)?classifier\./.test(n)), names.join());
  assert.equal(names.filter((n) => n.startsWith("distilbert.transformer.layer.1.")).length, 16);
  assert.throws(() => trainLastLayers(model, 3), /\[0, 2\]/);
  assert.throws(() => trainLastLayers(model, -1), /integer/);
});

test("full fine-tuning: every parameter tensor changes and the loss falls", async () => {
  const model = unfreeze(tinyDistilBert(14));
  const before = snapshot(model);
  const [start, end] = await trainSteps(model, 10, 3e-3);
  assert.ok(end < start - 0.05, `loss ${start} -> ${end}`);
  for (const [name, p] of model.namedParameters()) assert.ok(changed(before.get(name)!, p.data), `${name} did not change`);
});
