// The learning-rate range test (Lightning's Tuner.lr_find) on real UCI sentences with the small bag-of-embeddings
// classifier: the ladder of rates, early stopping on divergence, the suggestion, and that the model, the random
// generator and what training does afterwards are exactly as without the test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LrFinder, SequenceClassificationModule, Trainer, lrFind } from "../../src/train/index.js";
import { gradient } from "../../src/train/lr-finder.js";
import { defaultGenerator } from "../../src/tensor/index.js";
import { loader, maxDiff, seededModel, snapshot, uciExamples } from "./helpers/setup.js";

const quiet = { enableProgressBar: false };

test("the sweep climbs evenly in log(lr) from minLr to maxLr and suggests a rate inside the range", async () => {
  const train = await uciExamples("train", 256);
  const module = new SequenceClassificationModule(seededModel(3));
  const f = await lrFind(new Trainer(quiet), module, loader(train, { shuffle: true }), { minLr: 1e-6, maxLr: 1, numTraining: 60, earlyStopThreshold: null });
  assert.equal(f.stepsRun, 60);
  assert.equal(f.stoppedEarly, false);
  assert.equal(f.lrs[0], 1e-6);
  assert.ok(Math.abs(f.lrs[59] - 1) < 1e-12, `last rate ${f.lrs[59]}`);
  const ratios = f.lrs.slice(1).map((lr, i) => lr / f.lrs[i]);
  for (const r of ratios) assert.ok(Math.abs(r - 10 ** (6 / 59)) < 1e-9, `step ratio ${r}`);
  assert.ok(f.losses.every(Number.isFinite));
  // The first smoothed loss is the first loss: near ln 2 for an untrained binary classifier.
  assert.ok(Math.abs(f.losses[0] - Math.LN2) < 0.1, `first loss ${f.losses[0]}`);
  const s = f.suggestion()!;
  assert.ok(s > f.lrs[9] && s <= f.minLossLr()!, `suggestion ${s}, lowest loss at ${f.minLossLr()}`);
  // The loss stays flat up to about 1e-2 for this small model and falls from there: the steepest descent is on
  // the falling part, below the plateau.
  assert.ok(s >= 1e-2, `suggestion ${s}`);
  const plateau = f.losses.slice(10, 30).reduce((a, b) => a + b) / 20;
  assert.ok(f.losses[f.lrs.indexOf(s)] < plateau, `loss ${f.losses[f.lrs.indexOf(s)]} at the suggestion, plateau ${plateau}`);
});

test("a diverging loss stops the sweep early, at the first smoothed loss above 4x the best", async () => {
  const train = await uciExamples("train", 256);
  const module = new SequenceClassificationModule(seededModel(4));
  const f = await lrFind(new Trainer(quiet), module, loader(train, { shuffle: true }), { minLr: 1e-4, maxLr: 1e4, numTraining: 100 });
  assert.equal(f.stoppedEarly, true);
  assert.ok(f.stepsRun < 100, `${f.stepsRun} steps`);
  const last = f.losses[f.stepsRun - 1], before = f.losses.slice(0, -1);
  assert.ok(!Number.isFinite(last) || last > 4 * Math.min(...before), `last ${last}, best before ${Math.min(...before)}`);
  assert.ok(before.every((l) => l <= 4 * Math.min(...before)), "no earlier point crossed the threshold");
  const s = f.suggestion();
  assert.ok(s !== null && s >= 1e-4 && s < f.lrs[f.stepsRun - 1]);
});

test("weights, gradients, mode and the random generator are restored bit for bit; a fit afterwards is the fit without the test", async () => {
  const train = await uciExamples("train", 128);
  const fitted = async (probe: boolean) => {
    const model = seededModel(5, 0.3); // dropout, so the sweep draws from the default generator
    model.eval();
    const module = new SequenceClassificationModule(model, { lr: 0.02 });
    if (probe) {
      const before = snapshot(model), rng = defaultGenerator.getState();
      const f = await lrFind(new Trainer({ ...quiet, accumulateGradBatches: 2, gradientClipVal: 1 }), module, loader(train, { shuffle: true }), { numTraining: 30 });
      assert.ok(f.stepsRun > 10);
      assert.equal(maxDiff(before, snapshot(model)), 0);
      assert.deepEqual(defaultGenerator.getState(), rng);
      assert.equal(model.training, false);
      for (const p of model.parameters()) assert.equal(p.peekGrad(), null);
    }
    await new Trainer({ ...quiet, maxSteps: 12, seed: 9, logger: false }).fit(module, loader(train, { shuffle: true }));
    return snapshot(model);
  };
  assert.equal(maxDiff(await fitted(true), await fitted(false)), 0);
});

test("suggestion: steepest descent against log(lr), skipping the first points and what follows the lowest loss", () => {
  const lrs = Array.from({ length: 40 }, (_, i) => 10 ** (-6 + i * 0.15));
  // Flat, a descent steepest at index 20, the lowest loss at 28, then divergence with a dip at 33 that is steeper
  // than the descent but stays above the lowest loss.
  const losses = lrs.map((_, i) => 1 - 0.5 / (1 + Math.exp(-(i - 20) / 2)) + (i > 28 ? 0.2 * (i - 28) : 0) - (i === 33 ? 0.8 : 0));
  const f = new LrFinder("exponential", lrs, losses, true);
  assert.equal(f.minLossLr(), lrs[28]);
  assert.equal(f.suggestion(), lrs[20]);
  // Too few points once the first 10 and the last are left out.
  assert.equal(new LrFinder("exponential", lrs.slice(0, 12), losses.slice(0, 12), true).suggestion(), null);
  // Non-finite losses are left out, as Lightning does.
  const holed = new LrFinder("exponential", lrs, losses.map((l, i) => (i === 20 ? NaN : l)), true);
  assert.ok([lrs[19], lrs[21]].includes(holed.suggestion()!));
});

test("gradient on uneven points is exact for a quadratic (second-order inside, one-sided at the ends)", () => {
  const x = [0, 0.5, 2, 2.25, 4, 7];
  const g = gradient(x.map((v) => v * v), x);
  for (let i = 1; i < x.length - 1; i++) assert.ok(Math.abs(g[i] - 2 * x[i]) < 1e-12, `x=${x[i]}: ${g[i]}`);
  assert.equal(g[0], 0.5);
  assert.equal(g[5], 11);
});
