import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LogisticRegression } from "../../src/methods/logistic-regression.js";
import { MLPClassifier } from "../../src/methods/mlp-classifier.js";
import { Generator, Tensor, defaultGenerator } from "../../src/tensor/index.js";

/** Two concentric rings: no linear classifier separates them. */
function rings(n: number, seed = 2): { X: Tensor; y: Int32Array } {
  const gen = new Generator(seed);
  const X = new Float32Array(2 * n), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    const r = (y[i] ? 2 : 0.7) + 0.15 * gen.normal(), a = 2 * Math.PI * gen.random();
    X[2 * i] = r * Math.cos(a);
    X[2 * i + 1] = r * Math.sin(a);
  }
  return { X: new Tensor(X, [n, 2]), y };
}

test("an MLP separates concentric rings that logistic regression cannot", () => {
  const { X, y } = rings(200);
  const mlp = new MLPClassifier({ hiddenSizes: [16], lr: 0.01, epochs: 60, batchSize: 32, seed: 1 }).fit(X, y);
  assert.ok(mlp.score(X, y) > 0.97, `MLP accuracy ${mlp.score(X, y)}`);
  assert.ok(mlp.lossHistory.at(-1)! < mlp.lossHistory[0] / 5);
  assert.ok(new LogisticRegression().fit(X, y).score(X, y) < 0.75);
});

test("the same seed gives the same model, and the global generator is left untouched", () => {
  const { X, y } = rings(100);
  const before = defaultGenerator.getState();
  const opts = { hiddenSizes: [8, 8], activation: "tanh" as const, dropout: 0.1, epochs: 5, seed: 42 };
  const a = new MLPClassifier(opts).fit(X, y), b = new MLPClassifier(opts).fit(X, y);
  assert.deepEqual(defaultGenerator.getState(), before);
  assert.deepEqual([...a.predictProba(X).data], [...b.predictProba(X).data]);
  const c = new MLPClassifier({ ...opts, seed: 43 }).fit(X, y);
  assert.notDeepEqual([...a.predictProba(X).data], [...c.predictProba(X).data]);
});

test("early stopping scores a held-out split and keeps the best epoch's weights", () => {
  const { X, y } = rings(200, 4);
  const mlp = new MLPClassifier({ hiddenSizes: [16], lr: 0.01, epochs: 300, seed: 3, earlyStopping: { validationFraction: 0.2, patience: 5 } }).fit(X, y);
  assert.ok(mlp.validationScores.length < 300, "never stopped");
  assert.equal(mlp.validationScores.length, mlp.lossHistory.length);
  assert.equal(Math.max(...mlp.validationScores), mlp.validationScores[mlp.bestEpoch]);
  assert.equal(mlp.validationScores.length, mlp.bestEpoch + 1 + 5);
});

test("save / load round trip gives identical probabilities", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mlp-"));
  try {
    const { X, y } = rings(60);
    const labels = y.map((v) => (v ? 10 : -1));
    const mlp = new MLPClassifier({ hiddenSizes: [8, 4], activation: "gelu", dropout: 0.2, epochs: 3, seed: 7 }).fit(X, labels);
    const path = join(dir, "mlp.safetensors");
    await mlp.save(path);
    const back = await MLPClassifier.load(path);
    assert.deepEqual([...back.classes], [-1, 10]);
    assert.deepEqual(back.options, mlp.options);
    assert.deepEqual([...back.predictProba(X).data], [...mlp.predictProba(X).data]);
    assert.deepEqual(back.predict(X), mlp.predict(X));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
