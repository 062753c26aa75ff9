// Adam on a full-batch objective: the alternative to L-BFGS when a fixed learning rate is wanted, or to
// check the L-BFGS optimum independently.
import type { Objective } from "./lbfgs.js";

export interface AdamOptions {
  lr?: number;
  maxIter?: number;
  /** Stop when the objective changes by less than tol·max(1, |f|) between iterations. */
  tol?: number;
  betas?: [number, number];
  eps?: number;
}

export interface AdamResult {
  x: Float64Array;
  f: number;
  iterations: number;
  converged: boolean;
  /** Objective at each iterate, the starting value first. */
  history: number[];
}

export function minimizeAdam(fg: Objective, x0: Float64Array, opts: AdamOptions = {}): AdamResult {
  const lr = opts.lr ?? 0.01, maxIter = opts.maxIter ?? 2000, tol = opts.tol ?? 1e-6, eps = opts.eps ?? 1e-8;
  const [b1, b2] = opts.betas ?? [0.9, 0.999];
  const x = Float64Array.from(x0), g = new Float64Array(x.length);
  const m = new Float64Array(x.length), v = new Float64Array(x.length);
  let f = fg(x, g);
  const history = [f];
  for (let k = 1; k <= maxIter; k++) {
    const c1 = 1 - b1 ** k, c2 = 1 - b2 ** k;
    for (let i = 0; i < x.length; i++) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      x[i] -= (lr * m[i]) / c1 / (Math.sqrt(v[i] / c2) + eps);
    }
    const prev = f;
    f = fg(x, g);
    history.push(f);
    if (!Number.isFinite(f)) return { x, f, iterations: k, converged: false, history };
    if (Math.abs(prev - f) < tol * Math.max(1, Math.abs(f))) return { x, f, iterations: k, converged: true, history };
  }
  return { x, f, iterations: maxIter, converged: false, history };
}
