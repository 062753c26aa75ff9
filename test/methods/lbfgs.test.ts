import { test } from "node:test";
import assert from "node:assert/strict";
import { minimizeLbfgs } from "../../src/methods/lbfgs.js";
import { minimizeAdam } from "../../src/methods/full-batch-adam.js";

const rosenbrock = (x: Float64Array, g: Float64Array): number => {
  const [a, b] = x;
  g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
  g[1] = 200 * (b - a * a);
  return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
};

test("L-BFGS solves the Rosenbrock valley to its minimum at (1, 1)", () => {
  const r = minimizeLbfgs(rosenbrock, Float64Array.from([-1.2, 1]), { maxIter: 200, tol: 1e-10 });
  assert.ok(r.converged, r.message);
  assert.ok(Math.abs(r.x[0] - 1) < 1e-5 && Math.abs(r.x[1] - 1) < 1e-5, `x = ${r.x}`);
  assert.ok(r.iterations < 100, `took ${r.iterations} iterations`);
  for (let i = 1; i < r.history.length; i++) assert.ok(r.history[i] <= r.history[i - 1], "objective rose");
});

test("L-BFGS minimises an ill-conditioned quadratic in few iterations", () => {
  const scales = Float64Array.from({ length: 50 }, (_, i) => 10 ** (i / 25));
  const quad = (x: Float64Array, g: Float64Array) => {
    let f = 0;
    for (let i = 0; i < x.length; i++) { const d = x[i] - i; f += 0.5 * scales[i] * d * d; g[i] = scales[i] * d; }
    return f;
  };
  const r = minimizeLbfgs(quad, new Float64Array(50), { maxIter: 200, tol: 1e-12 });
  assert.ok(r.converged, r.message);
  r.x.forEach((v, i) => assert.ok(Math.abs(v - i) < 1e-5, `x[${i}] = ${v}`));
});

test("full-batch Adam gets close to the same minimum", () => {
  const quad = (x: Float64Array, g: Float64Array) => {
    g[0] = 2 * (x[0] - 3); g[1] = 4 * (x[1] + 1);
    return (x[0] - 3) ** 2 + 2 * (x[1] + 1) ** 2;
  };
  const r = minimizeAdam(quad, new Float64Array(2), { lr: 0.05, maxIter: 5000, tol: 1e-14 });
  assert.ok(Math.abs(r.x[0] - 3) < 1e-3 && Math.abs(r.x[1] + 1) < 1e-3, `x = ${r.x}`);
});
