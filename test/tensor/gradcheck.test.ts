import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/tensor/index.js";
import { gradcheck, randn64 } from "../helpers/gradcheck.js";

const r = randn64;

test("broadcasting arithmetic", () => {
  gradcheck("add same", (a, b) => T.add(a, b), [r([3, 5]), r([3, 5])]);
  gradcheck("add row bias", (a, b) => T.add(a, b), [r([2, 3, 5]), r([5])]);
  gradcheck("sub column", (a, b) => T.sub(a, b), [r([4, 3]), r([4, 1])]);
  gradcheck("mul middle", (a, b) => T.mul(a, b), [r([2, 3, 4]), r([3, 1])]);
  gradcheck("div both", (a, b) => T.div(a, b), [r([2, 1, 3]), T.add(T.abs(r([4, 1], false)), 1).setRequiresGrad()]);
  gradcheck("scalar", (a) => T.mul(T.add(a, 2), 3), [r([7])]);
});

test("pointwise functions", () => {
  const pos = () => T.add(T.abs(r([3, 4], false)), 0.5).setRequiresGrad();
  for (const [name, f] of Object.entries({ neg: T.neg, exp: T.exp, tanh: T.tanh, sigmoid: T.sigmoid, silu: T.silu, sin: T.sin, cos: T.cos })) {
    gradcheck(name, f as (x: T.Tensor) => T.Tensor, [r([3, 4])]);
  }
  gradcheck("log", T.log, [pos()]);
  gradcheck("sqrt", T.sqrt, [pos()]);
  gradcheck("rsqrt", T.rsqrt, [pos()]);
  gradcheck("pow", (x) => T.pow(x, 3), [r([5])]);
  gradcheck("relu", T.relu, [T.add(r([9], false), 0.01).setRequiresGrad()]);
  gradcheck("gelu erf", (x) => T.gelu(x), [r([2, 7])]);
  gradcheck("gelu tanh", (x) => T.gelu(x, "tanh"), [r([2, 7])]);
});

test("matmul: all layouts, batched and shared operands", () => {
  for (const transA of [false, true]) for (const transB of [false, true]) {
    const a = r(transA ? [5, 3] : [3, 5]), b = r(transB ? [4, 5] : [5, 4]);
    gradcheck(`2d ${transA}${transB}`, (x, y) => T.matmul(x, y, { transA, transB }), [a, b]);
    const ab = r(transA ? [2, 3, 5, 3] : [2, 3, 3, 5]);
    const bb = r(transB ? [2, 3, 4, 5] : [2, 3, 5, 4]);
    gradcheck(`batched ${transA}${transB}`, (x, y) => T.matmul(x, y, { transA, transB }), [ab, bb]);
    gradcheck(`shared B ${transA}${transB}`, (x, y) => T.matmul(x, y, { transA, transB }), [ab, b]);
  }
  gradcheck("linear", (x, w, b) => T.linear(x, w, b), [r([2, 3, 5]), r([4, 5]), r([4])]);
  gradcheck("conv1d linear", (x, w, b) => T.linear(x, w, b, true), [r([3, 5]), r([5, 4]), r([4])]);
  gradcheck("linear no bias", (x, w) => T.linear(x, w, null), [r([3, 5]), r([2, 5])]);
  gradcheck("matmul of permuted input", (x, y) => T.matmul(T.transpose(x, 0, 1), y), [r([5, 3]), r([5, 2])]);
});

test("shape ops", () => {
  gradcheck("reshape", (x) => T.mul(T.reshape(x, [6, -1]), 2), [r([2, 3, 4])]);
  gradcheck("permute", (x) => T.permute(x, [2, 0, 1]), [r([2, 3, 4])]);
  gradcheck("transpose", (x) => T.transpose(x, -1, -2), [r([3, 2, 5])]);
  gradcheck("slice", (x) => T.slice(x, 1, 1, 3), [r([2, 4, 3])]);
  gradcheck("cat", (a, b) => T.cat([a, b], 1), [r([2, 1, 3]), r([2, 4, 3])]);
  gradcheck("stack", (a, b) => T.stack([a, b], 1), [r([2, 3]), r([2, 3])]);
  gradcheck("split", (x) => T.mul(T.split(x, [1, 3], 1)[1], 2), [r([2, 4])]);
  gradcheck("expand", (x) => T.expand(x, [3, 4, 2]), [r([3, 1, 2])]);
  gradcheck("repeatInterleave", (x) => T.repeatInterleave(x, 3, 1), [r([2, 2, 3])]);
  const ids = T.tensor([[1, 0, 3], [3, 3, 2]], { dtype: "int32" });
  gradcheck("embedding", (w) => T.embedding(w, ids), [r([4, 5])]);
  gradcheck("indexSelect", (x) => T.indexSelect(x, 1, [2, 0, 2]), [r([2, 3, 2])]);
  gradcheck("gatherLast", (x) => T.gatherLast(x, T.tensor([[0, 2], [1, 1]], { dtype: "int32" })), [r([2, 3])]);
});

test("embedding padding row gets no gradient", () => {
  const w = r([4, 3]);
  T.sum(T.embedding(w, T.tensor([0, 1, 0], { dtype: "int32" }), 0)).backward();
  assert.deepEqual(Array.from(w.grad!.data.slice(0, 3)), [0, 0, 0]);
  assert.deepEqual(Array.from(w.grad!.data.slice(3, 6)), [1, 1, 1]);
});

test("reductions", () => {
  gradcheck("sum all", (x) => T.sum(x), [r([3, 4])]);
  gradcheck("sum dim", (x) => T.sum(x, 1, true), [r([3, 4, 2])]);
  gradcheck("mean dim", (x) => T.mean(x, -1), [r([3, 4])]);
  gradcheck("max dim", (x) => T.max(x, 1).values, [r([3, 5, 2])]);
  gradcheck("variance", (x) => T.variance(x, 1), [r([3, 6])]);
  assert.deepEqual(Array.from(T.argmax(T.tensor([[1, 5, 2], [7, 0, 7]]), 1).data), [1, 0]);
});

test("normalisation, softmax and losses", () => {
  gradcheck("softmax", (x) => T.softmax(x), [r([3, 7])]);
  gradcheck("softmax dim 1", (x) => T.softmax(x, 1), [r([2, 3, 4])]);
  gradcheck("logSoftmax", (x) => T.logSoftmax(x), [r([3, 7])]);
  gradcheck("layerNorm", (x, w, b) => T.layerNorm(x, w, b, 1e-5), [r([2, 3, 6]), r([6]), r([6])]);
  gradcheck("layerNorm plain", (x) => T.layerNorm(x, null, null), [r([4, 5])]);
  gradcheck("rmsNorm", (x, w) => T.rmsNorm(x, w, 1e-6), [r([3, 6]), r([6])]);
  const targets = T.tensor([2, -100, 0, 4], { dtype: "int32" });
  gradcheck("crossEntropy mean", (x) => T.crossEntropy(x, targets), [r([4, 5])]);
  gradcheck("crossEntropy sum", (x) => T.crossEntropy(x, targets, { reduction: "sum" }), [r([4, 5])]);
  gradcheck("crossEntropy none", (x) => T.crossEntropy(x, targets, { reduction: "none" }), [r([4, 5])]);
  gradcheck("mse", (a, b) => T.mseLoss(a, b), [r([3, 2]), r([3, 2])]);
  gradcheck("where", (a, b) => T.where(T.tensor([[1, 0, 1]]), a, b), [r([2, 3]), r([3])]);
  gradcheck("maskedFill", (a) => T.maskedFill(a, T.tensor([0, 1, 0]), -5), [r([2, 3])]);
});

test("cross-entropy matches log-softmax + gather", () => {
  const x = T.randn([3, 4]);
  const t = T.tensor([1, 3, 0], { dtype: "int32" });
  const ref = -T.mean(T.gatherLast(T.logSoftmax(x), T.reshape(t, [3, 1]))).item();
  assert.ok(Math.abs(T.crossEntropy(x, t).item() - ref) < 1e-6);
});

test("autograd: accumulation, reuse, noGrad, detach, frozen inputs", () => {
  const x = r([3]);
  T.sum(T.mul(x, x)).backward();
  T.sum(T.mul(x, x)).backward();
  x.data.forEach((v, i) => assert.ok(Math.abs(x.grad!.data[i] - 4 * v) < 1e-12));
  const y = r([2]);
  const z = T.noGrad(() => T.mul(y, 2));
  assert.equal(z.requiresGrad, false);
  assert.equal(T.mul(y.detach(), 2).requiresGrad, false);
  const frozen = r([2, 2], false);
  const out = T.matmul(r([1, 2]), frozen);
  assert.equal(out.requiresGrad, true);
  T.sum(out).backward();
  assert.equal(frozen.grad, null);
  // A value used twice in one graph gets both contributions.
  const a = r([2]);
  const h = T.mul(a, 3);
  T.sum(T.add(h, h)).backward();
  a.grad!.data.forEach((v) => assert.ok(Math.abs(v - 6) < 1e-12));
  assert.throws(() => T.sum(T.mul(r([2], false), 1)).backward(), /does not require grad/);
});

test("dropout keeps the expectation and is identity in eval", () => {
  T.manualSeed(3);
  const x = T.ones([10000]);
  const d = T.dropout(x, 0.25, true);
  const m = T.mean(d).item();
  assert.ok(Math.abs(m - 1) < 0.05, `mean ${m}`);
  assert.equal(T.dropout(x, 0.25, false), x);
});
