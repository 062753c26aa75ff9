// Central finite differences in float64 against autograd, for any function of tensors.
import assert from "node:assert/strict";
import { Tensor, manualSeed, randn, sum, mul } from "../../src/tensor/index.js";

export function randn64(shape: number[], requiresGrad = true): Tensor {
  return randn(shape, { dtype: "float64", requiresGrad });
}

/** Checks d(sum(f(x) * w))/dx for every input that requires grad, w a fixed random weighting. */
export function gradcheck(name: string, f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: { eps?: number; tol?: number } = {}): void {
  const eps = opts.eps ?? 1e-6, tol = opts.tol ?? 1e-6;
  manualSeed(1234);
  const probe = f(...inputs.map((x) => x.detach()));
  const w = randn(probe.shape, { dtype: "float64" });
  const objective = (...xs: Tensor[]) => sum(mul(f(...xs), w)).item();
  for (const x of inputs) x.grad = null;
  const out = sum(mul(f(...inputs), w));
  out.backward();
  inputs.forEach((x, k) => {
    if (!x.requiresGrad) return;
    assert.ok(x.grad, `${name}: input ${k} got no gradient`);
    const analytic = x.grad.data;
    for (let i = 0; i < x.numel; i++) {
      const orig = x.data[i];
      x.data[i] = orig + eps;
      const plus = objective(...inputs.map((t) => t.detach()));
      x.data[i] = orig - eps;
      const minus = objective(...inputs.map((t) => t.detach()));
      x.data[i] = orig;
      const numeric = (plus - minus) / (2 * eps);
      const err = Math.abs(numeric - analytic[i]);
      assert.ok(err <= tol * (1 + Math.abs(numeric)),
        `${name}: d/dx${k}[${i}] analytic ${analytic[i]} vs numeric ${numeric} (err ${err})`);
    }
  });
}
