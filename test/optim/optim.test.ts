import { test } from "node:test";
import assert from "node:assert/strict";
import { AdamW, SGD, clipGradNorm, cosineSchedule, linearSchedule } from "../../src/optim/index.js";
import { Tensor, tensor } from "../../src/tensor/index.js";
import { maxAbsDiff, torchReference } from "../helpers/torch-reference.js";

const ref = torchReference.optim;

function runSteps(make: (p: Tensor[]) => { step(): void }): Float32Array {
  const p = tensor(Float32Array.from(ref.p0), { requiresGrad: true });
  const opt = make([p]);
  for (const g of ref.grads) { p.grad = tensor(Float32Array.from(g)); opt.step(); }
  return p.data as Float32Array;
}

test("AdamW matches torch.optim.AdamW over several steps", () => {
  const got = runSteps((ps) => new AdamW(ps, { lr: 0.01, betas: [0.9, 0.99], eps: 1e-6, weightDecay: 0.1 }));
  assert.ok(maxAbsDiff(got, ref.adamw) < 1e-6, `max diff ${maxAbsDiff(got, ref.adamw)}`);
});

test("SGD with momentum and Nesterov matches torch.optim.SGD", () => {
  const m = runSteps((ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 0.01 }));
  assert.ok(maxAbsDiff(m, ref.sgd_momentum) < 1e-6);
  const n = runSteps((ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true }));
  assert.ok(maxAbsDiff(n, ref.sgd_nesterov) < 1e-6);
});

test("optimizer state dict resumes exactly", () => {
  const make = (p: Tensor) => new AdamW([p], { lr: 0.01 });
  const a = tensor(Float32Array.from(ref.p0), { requiresGrad: true });
  const optA = make(a);
  a.grad = tensor(Float32Array.from(ref.grads[0])); optA.step();
  const saved = optA.stateDict();
  const b = tensor(Float32Array.from(a.data), { requiresGrad: true });
  const optB = make(b);
  optB.loadStateDict(saved);
  for (const [p, o] of [[a, optA], [b, optB]] as const) { p.grad = tensor(Float32Array.from(ref.grads[1])); o.step(); }
  assert.deepEqual(b.data, a.data);
});

test("schedules: warm-up then linear decay or cosine", () => {
  const p = tensor([1], { requiresGrad: true });
  const opt = new AdamW([p], { lr: 1 });
  const lin = linearSchedule(opt, 2, 10);
  const seen = [opt.paramGroups[0].lr];
  for (let i = 0; i < 10; i++) { lin.step(); seen.push(opt.paramGroups[0].lr); }
  assert.deepEqual(seen.map((v) => +v.toFixed(4)), [0, 0.5, 1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0]);
  const opt2 = new AdamW([p], { lr: 1 });
  const cos = cosineSchedule(opt2, 0, 4);
  cos.step(); cos.step();
  assert.ok(Math.abs(opt2.paramGroups[0].lr - 0.5) < 1e-12);
});

test("clipGradNorm scales to the max norm and reports the original", () => {
  const p = tensor([0, 0], { requiresGrad: true });
  p.grad = tensor([3, 4]);
  assert.equal(clipGradNorm([p], 1), 5);
  assert.ok(Math.abs(Math.hypot(...p.grad.data) - 1) < 1e-5);
});
