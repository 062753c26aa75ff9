import { test } from "node:test";
import assert from "node:assert/strict";
import { accuracy, macroScores, perplexity } from "../../src/train/metrics.js";

// Per class (by hand): 0: tp 1, fp 0, fn 1 -> P 1, R 1/2, F1 2/3; 1: tp 1, fp 1, fn 0 -> P 1/2, R 1, F1 2/3;
// 2: tp 2, fp 1, fn 1 -> P 2/3, R 2/3, F1 2/3.
const preds = [0, 1, 1, 2, 2, 2];
const targets = [0, 1, 2, 2, 2, 0];
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

test("accuracy", () => {
  close(accuracy(preds, targets), 4 / 6);
  close(accuracy([1, 1], [1, 1]), 1);
  assert.ok(Number.isNaN(accuracy([], [])));
  assert.throws(() => accuracy([1], [1, 2]), /1 predictions for 2 targets/);
});

test("macro precision, recall and F1 match hand-computed values", () => {
  const m = macroScores(preds, targets);
  close(m.precision, (1 + 1 / 2 + 2 / 3) / 3);
  close(m.recall, (1 / 2 + 1 + 2 / 3) / 3);
  close(m.f1, 2 / 3);
  // A class that never occurs scores 0 when numClasses asks for it.
  const four = macroScores(preds, targets, 4);
  close(four.precision, (1 + 1 / 2 + 2 / 3) / 4);
  close(four.f1, 0.5);
  // A class only ever predicted: P 0, R 0 (no true members, sklearn's zero_division=0).
  const skew = macroScores([1, 1, 1, 1], [0, 0, 1, 1]);
  close(skew.precision, (0 + 0.5) / 2);
  close(skew.recall, (0 + 1) / 2);
  close(skew.f1, (0 + 2 / 3) / 2);
});

test("perplexity is exp of the mean NLL per token", () => {
  close(perplexity(10 * Math.log(4), 10), 4);
  close(perplexity(0, 3), 1);
});
