import assert from "node:assert/strict";
import { test } from "node:test";
import { mulberry32, splitDataset } from "../../src/data/split.js";

const rows = Array.from({ length: 1000 }, (_, i) => i);

test("fractions round up, and every row lands in exactly one split", () => {
  const { train, validation, test: testRows } = splitDataset(rows, { validation: 0.1, test: 0.05, seed: 7 });
  assert.deepEqual([train.length, validation!.length, testRows!.length], [850, 100, 50]);
  assert.deepEqual([...train, ...validation!, ...testRows!].sort((a, b) => a - b), rows);
  assert.notDeepEqual(train.slice(0, 20), rows.slice(0, 20), "shuffled");
  assert.equal(splitDataset(rows.slice(0, 9), { validation: 0.1 }).validation!.length, 1);
});

test("the same seed gives the same split; another seed another one", () => {
  const a = splitDataset(rows, { validation: 0.2, seed: 1 });
  assert.deepEqual(splitDataset(rows, { validation: 0.2, seed: 1 }), a);
  assert.notDeepEqual(splitDataset(rows, { validation: 0.2, seed: 2 }).validation, a.validation);
  assert.equal(splitDataset(rows, { test: 0.1 }).validation, undefined);
  assert.deepEqual(splitDataset(rows, { test: 0.1 }), splitDataset(rows, { test: 0.1, seed: 42 }), "default seed 42");
});

test("row counts and bad sizes", () => {
  assert.equal(splitDataset(rows, { validation: 25 }).validation!.length, 25);
  assert.throws(() => splitDataset(rows, {}), /give a validation and\/or test size/);
  assert.throws(() => splitDataset(rows, { validation: 1.5 }), /fraction in \(0, 1\) or a whole number/);
  assert.throws(() => splitDataset(rows, { validation: 600, test: 400 }), /leave no training rows/);
});

test("mulberry32 gives the reference stream", () => {
  const random = mulberry32(42);
  assert.deepEqual([random(), random(), random()], [0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
});
