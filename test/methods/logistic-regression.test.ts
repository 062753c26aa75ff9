import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LogisticRegression } from "../../src/methods/logistic-regression.js";
import { Generator, Tensor, crossEntropy, linear, mul, sum, tensor } from "../../src/tensor/index.js";

/** Gaussian blobs around well separated centres; labels are arbitrary integers to check class mapping. */
function blobs(perClass: number, centres: number[][], labels: number[], seed = 1): { X: Tensor; y: Int32Array } {
  const gen = new Generator(seed);
  const dim = centres[0].length;
  const X = new Float32Array(perClass * centres.length * dim), y = new Int32Array(perClass * centres.length);
  centres.forEach((c, k) => {
    for (let i = 0; i < perClass; i++) {
      const row = k * perClass + i;
      y[row] = labels[k];
      for (let d = 0; d < dim; d++) X[row * dim + d] = c[d] + 0.5 * gen.normal();
    }
  });
  return { X: new Tensor(X, [y.length, dim]), y };
}

/** 1-d, two classes: at x = +1 three of class 1 and one of class 0, mirrored at x = -1. */
const mirrored = {
  X: tensor([[1], [1], [1], [1], [-1], [-1], [-1], [-1]]),
  y: Int32Array.from([1, 1, 1, 0, 0, 0, 0, 1]),
};

/** By symmetry b0 = b1 and w0 = -w1; with u = w1 - w0 the objective is (3·L(u) + L(-u))/4 + l2·u²/4,
 *  L(v) = log(1 + e^-v), so the optimum solves (σ(u) - 3σ(-u))/4 + l2·u/2 = 0. */
function mirroredOptimum(l2: number): number {
  const sigma = (v: number) => 1 / (1 + Math.exp(-v));
  const dObjective = (u: number) => (sigma(u) - 3 * sigma(-u)) / 4 + (l2 * u) / 2;
  let lo = 0, hi = 10;
  for (let i = 0; i < 200; i++) { const mid = (lo + hi) / 2; if (dObjective(mid) > 0) hi = mid; else lo = mid; }
  return (lo + hi) / 2;
}

test("separable blobs are fit perfectly, labels map back to their values", () => {
  const { X, y } = blobs(40, [[4, 0, 0], [0, 4, 0], [0, 0, 4]], [7, -2, 3]);
  const clf = new LogisticRegression({ l2: 1e-3 }).fit(X, y);
  assert.deepEqual([...clf.classes], [-2, 3, 7]);
  assert.equal(clf.score(X, y), 1);
  assert.ok(clf.converged, `did not converge in ${clf.nIter} iterations`);
  const p = clf.predictProba(X);
  assert.deepEqual(p.shape, [120, 3]);
  for (let i = 0; i < 120; i++) assert.ok(Math.abs(p.data[3 * i] + p.data[3 * i + 1] + p.data[3 * i + 2] - 1) < 1e-6);
});

test("without a penalty the optimum is the empirical frequency: P(1 | x = 1) = 3/4, u = log 3", () => {
  const clf = new LogisticRegression({ l2: 0, tol: 1e-12 }).fit(mirrored.X, mirrored.y);
  const [w0, w1] = clf.coef!.data, [b0, b1] = clf.intercept!.data;
  assert.ok(Math.abs(w1 - w0 - Math.log(3)) < 1e-6, `u = ${w1 - w0}`);
  assert.ok(Math.abs(b1 - b0) < 1e-9, `intercept difference ${b1 - b0}`);
  assert.ok(Math.abs(clf.predictProba(tensor([[1]])).data[1] - 0.75) < 1e-6);
});

test("with l2 the fit matches the hand-derived optimum and the penalty splits W symmetrically", () => {
  const l2 = 0.1;
  const clf = new LogisticRegression({ l2, tol: 1e-12 }).fit(mirrored.X, mirrored.y);
  const [w0, w1] = clf.coef!.data;
  const u = mirroredOptimum(l2);
  assert.ok(Math.abs(w1 - w0 - u) < 1e-6, `u = ${w1 - w0}, expected ${u}`);
  assert.ok(Math.abs(w0 + w1) < 1e-6, `w0 + w1 = ${w0 + w1}`);
});

test("sklearn's C maps to l2 = 1 / (C·N)", () => {
  const viaC = new LogisticRegression({ C: 2, tol: 1e-12 }).fit(mirrored.X, mirrored.y);
  const [w0, w1] = viaC.coef!.data;
  assert.ok(Math.abs(w1 - w0 - mirroredOptimum(1 / (2 * 8))) < 1e-6);
  assert.throws(() => new LogisticRegression({ C: 1, l2: 1 }), /not both/);
});

test("the autograd engine finds a zero gradient at the L-BFGS solution", () => {
  const { X, y } = blobs(30, [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]], [0, 1, 2], 5);
  const l2 = 0.05;
  const clf = new LogisticRegression({ l2, tol: 1e-12, maxIter: 500 }).fit(X, y);
  const W = clf.coef!.clone().setRequiresGrad(), b = clf.intercept!.clone().setRequiresGrad();
  const loss = crossEntropy(linear(X.to("float64"), W, b), tensor(y, { shape: [y.length] }))
    .add(mul(sum(mul(W, W)), 0.5 * l2));
  loss.backward();
  const maxGrad = Math.max(...W.grad!.data.map(Math.abs), ...b.grad!.data.map(Math.abs));
  assert.ok(maxGrad < 1e-6, `max |grad| = ${maxGrad}`);
  assert.ok(Math.abs(loss.item() - clf.lossHistory.at(-1)!) < 1e-12);
});

test("the Adam solver reaches the same optimum as L-BFGS", () => {
  const { X, y } = blobs(30, [[1, 0], [0, 1], [-1, -1]], [0, 1, 2], 9);
  const a = new LogisticRegression({ l2: 0.1, tol: 1e-12 }).fit(X, y);
  const b = new LogisticRegression({ l2: 0.1, solver: "adam", lr: 0.05, maxIter: 5000, tol: 1e-13 }).fit(X, y);
  const diff = Math.max(...a.coef!.data.map((v, i) => Math.abs(v - b.coef!.data[i])));
  assert.ok(diff < 1e-3, `max coefficient difference ${diff}`);
  assert.ok(b.lossHistory.at(-1)! < b.lossHistory[0]);
});

test("save / load round trip keeps classes, weights and predictions", async () => {
  const dir = await mkdtemp(join(tmpdir(), "logreg-"));
  try {
    const { X, y } = blobs(20, [[2, 0], [0, 2]], [4, 9], 3);
    const clf = new LogisticRegression({ C: 0.5 }).fit(X, y);
    const path = join(dir, "clf.safetensors");
    await clf.save(path);
    const back = await LogisticRegression.load(path);
    assert.deepEqual([...back.classes], [4, 9]);
    assert.deepEqual(back.options, { C: 0.5 });
    assert.deepEqual([...back.coef!.data], [...clf.coef!.data]);
    assert.deepEqual([...back.predictProba(X).data], [...clf.predictProba(X).data]);
    assert.deepEqual(back.predict(X), clf.predict(X));
    await assert.rejects(() => import("../../src/methods/mlp-classifier.js").then((m) => m.MLPClassifier.load(path)), /not a saved MLPClassifier/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("clear errors for misuse", () => {
  assert.throws(() => new LogisticRegression().predict(tensor([[1]])), /not fitted/);
  assert.throws(() => new LogisticRegression().fit(tensor([[1], [2]]), [1, 1]), /two classes/);
  const clf = new LogisticRegression().fit(mirrored.X, mirrored.y);
  assert.throws(() => clf.predict(tensor([[1, 2]])), /2 features/);
});
