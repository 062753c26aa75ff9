import { test } from "node:test";
import assert from "node:assert/strict";
import { Linear, LSTM, LayerNorm, Module, ModuleList, Sequential, ReLU, Embedding } from "../../src/nn/index.js";
import { Tensor, arange, mul, reshape, sum, tensor } from "../../src/tensor/index.js";
import { maxAbsDiff, torchReference } from "../helpers/torch-reference.js";

class Block extends Module {
  qLin: Linear;
  norm: LayerNorm;
  constructor() {
    super();
    this.qLin = this.addModule("q_lin", new Linear(4, 4));
    this.norm = this.addModule("output_layer_norm", new LayerNorm(4));
  }
  forward(x: Tensor) { return this.norm.forward(this.qLin.forward(x)); }
}

class Net extends Module {
  layers = this.addModule("layer", new ModuleList([new Block(), new Block()]));
  head = this.addModule("classifier", new Linear(4, 2, { bias: false }));
}

test("dotted names follow registration, like torch state_dict keys", () => {
  const net = new Net();
  assert.deepEqual([...net.namedParameters()].map(([n]) => n), [
    "layer.0.q_lin.weight", "layer.0.q_lin.bias", "layer.0.output_layer_norm.weight", "layer.0.output_layer_norm.bias",
    "layer.1.q_lin.weight", "layer.1.q_lin.bias", "layer.1.output_layer_norm.weight", "layer.1.output_layer_norm.bias",
    "classifier.weight",
  ]);
  assert.equal(net.numParameters(), 2 * (16 + 4 + 4 + 4) + 8);
});

test("stateDict round trip, strict and non-strict loading", () => {
  const a = new Net(), b = new Net();
  b.loadStateDict(a.stateDict());
  for (const [k, t] of b.stateDict()) assert.deepEqual(t.data, a.stateDict().get(k)!.data, k);
  const partial = new Map([...a.stateDict()].filter(([k]) => !k.startsWith("classifier")));
  partial.set("extra.weight", tensor([1]));
  assert.throws(() => b.loadStateDict(partial), /missing keys \[classifier.weight\], unexpected keys \[extra.weight\]/);
  assert.deepEqual(b.loadStateDict(partial, false), { missingKeys: ["classifier.weight"], unexpectedKeys: ["extra.weight"] });
  const wrong = new Map(a.stateDict());
  wrong.set("classifier.weight", tensor([[1, 2]]));
  assert.throws(() => b.loadStateDict(wrong), /classifier.weight has shape \[1,2\] in the checkpoint but \[2,4\]/);
});

test("setSubmodule swaps the module forward() uses; setParameter ties weights", () => {
  const net = new Net();
  const block = net.layers.at(0) as Block;
  const replacement = new Linear(4, 4);
  net.setSubmodule("layer.0.q_lin", replacement);
  assert.equal(block.qLin, replacement);
  assert.equal(net.getSubmodule("layer.0.q_lin"), replacement);
  const other = new Block();
  net.setSubmodule("layer.1", other);
  assert.equal(net.layers.at(1), other);
  const emb = new Embedding(2, 4);
  net.head.setParameter("weight", emb.weight);
  assert.equal(net.head.weight, emb.weight);
});

test("train/eval and requiresGrad toggles reach every submodule", () => {
  const net = new Net();
  net.eval();
  assert.ok([...net.namedModules()].every(([, m]) => !m.training));
  net.requiresGrad(false);
  net.head.requiresGrad(true);
  assert.equal(net.numParameters(true), 8);
});

test("Sequential chains layers", () => {
  const s = new Sequential(new Linear(3, 5), ReLU(), new Linear(5, 2));
  assert.deepEqual(s.forward(tensor([[1, 2, 3]])).shape, [1, 2]);
  assert.deepEqual([...s.namedParameters()].map(([n]) => n), ["0.weight", "0.bias", "2.weight", "2.bias"]);
});

test("LSTM matches torch.nn.LSTM (2 layers, bidirectional) forward and backward", () => {
  const ref = torchReference.lstm;
  const lstm = new LSTM(3, 2, { numLayers: 2, bidirectional: true });
  lstm.loadStateDict(new Map(Object.entries(ref.params).map(([k, v]) => [k, tensor(Float32Array.from(v), { shape: ref.shapes[k] })])));
  const x = tensor(Float32Array.from(ref.x), { shape: [2, 4, 3], requiresGrad: true });
  const y = lstm.forward(x);
  assert.deepEqual(y.shape, [2, 4, 4]);
  assert.ok(maxAbsDiff(y.data, ref.y) < 1e-6);
  const w = reshape(mul(arange(0, y.numel, 1, { dtype: "float32" }), 0.1), y.shape);
  sum(mul(y, w)).backward();
  assert.ok(maxAbsDiff(x.grad!.data, ref.dx) < 1e-5);
  const [, wih] = [...lstm.namedParameters()].find(([n]) => n === "weight_ih_l1_reverse")!;
  assert.ok(maxAbsDiff(wih.grad!.data, ref.dw_ih_l1_reverse) < 1e-5);
});
