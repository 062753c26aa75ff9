import { test } from "node:test";
import assert from "node:assert/strict";
import { Linear, Sequential, ReLU } from "../../src/nn/index.js";
import { countParameters, formatFixed, formatParameterCount, formatTrainableParameters, trainableParameters } from "../../src/methods/trainable.js";
import { freeze, unfreeze } from "../../src/methods/freeze.js";

test("the line matches PEFT's print_trainable_parameters", () => {
  assert.equal(formatParameterCount({ trainable: 592130, all: 66955010 }),
    "trainable params: 592,130 || all params: 66,955,010 || trainable%: 0.8844");
  assert.equal(formatParameterCount({ trainable: 0, all: 999 }), "trainable params: 0 || all params: 999 || trainable%: 0.0000");
  assert.equal(formatParameterCount({ trainable: 1234567, all: 1234567 }),
    "trainable params: 1,234,567 || all params: 1,234,567 || trainable%: 100.0000");
});

test("formatFixed rounds like Python's format, ties to even", () => {
  // Values checked with CPython: f"{v:.4f}".
  assert.equal(formatFixed(12.03125, 4), "12.0312");
  assert.equal(formatFixed(-12.03125, 4), "-12.0312");
  assert.equal(formatFixed(0.03125, 4), "0.0312");
  assert.equal(formatFixed(0.00005, 4), "0.0001");
  assert.equal(formatFixed(2.5, 0), "2");
  assert.equal(formatFixed(3.5, 0), "4");
  assert.equal(formatFixed(0.884370, 4), "0.8844");
});

test("freeze / unfreeze flip every parameter and counts follow", () => {
  const net = new Sequential(new Linear(4, 3), ReLU(), new Linear(3, 2));
  assert.deepEqual(countParameters(net), { trainable: 23, all: 23 });
  freeze(net);
  assert.deepEqual(countParameters(net), { trainable: 0, all: 23 });
  unfreeze(net.at(2));
  assert.deepEqual(countParameters(net), { trainable: 8, all: 23 });
  assert.deepEqual(trainableParameters(net).map(([n]) => n), ["2.weight", "2.bias"]);
  assert.equal(formatTrainableParameters(net), "trainable params: 8 || all params: 23 || trainable%: 34.7826");
});
