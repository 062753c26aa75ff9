// Limited-memory BFGS (Nocedal & Wright, Numerical Optimization, 2nd ed.: Alg. 7.4 two-loop recursion,
// Alg. 3.5/3.6 strong-Wolfe line search), in float64 on a flat parameter vector. Full-batch convex
// problems like logistic regression converge in tens of iterations where first-order methods need
// thousands.

/** Writes the gradient at x into `grad` and returns the objective. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  maxIter?: number;
  /** Stop when max |gradient| < tol or the objective falls by less than tol·max(1, |f|) in one iteration. */
  tol?: number;
  /** Correction pairs kept (m). */
  historySize?: number;
  /** Objective evaluations allowed per line search. */
  maxLineSearch?: number;
  /** Sufficient-decrease (Armijo) constant. */
  c1?: number;
  /** Curvature constant; 0.9 is the usual choice for quasi-Newton directions. */
  c2?: number;
}

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  grad: Float64Array;
  iterations: number;
  evaluations: number;
  converged: boolean;
  /** Objective after each iteration, the starting value first. */
  history: number[];
  message: string;
}

interface Point {
  t: number;
  x: Float64Array;
  f: number;
  g: Float64Array;
  /** Directional derivative g·d. */
  dg: number;
}

export function minimizeLbfgs(fg: Objective, x0: Float64Array, opts: LbfgsOptions = {}): LbfgsResult {
  const maxIter = opts.maxIter ?? 100, tol = opts.tol ?? 1e-6, m = opts.historySize ?? 10;
  const search = { c1: opts.c1 ?? 1e-4, c2: opts.c2 ?? 0.9, maxEvals: opts.maxLineSearch ?? 25 };
  let evaluations = 0;
  const evaluate = (x: Float64Array): { f: number; g: Float64Array } => {
    const g = new Float64Array(x.length);
    evaluations++;
    return { f: fg(x, g), g };
  };
  let x: Float64Array = Float64Array.from(x0);
  let { f, g } = evaluate(x);
  const history = [f];
  const S: Float64Array[] = [], Y: Float64Array[] = [];
  const done = (iterations: number, converged: boolean, message: string): LbfgsResult =>
    ({ x, f, grad: g, iterations, evaluations, converged, history, message });
  if (!Number.isFinite(f)) return done(0, false, "objective is not finite at the starting point");
  if (maxAbs(g) < tol) return done(0, true, "gradient below tol");

  for (let k = 0; k < maxIter; k++) {
    let d = direction(g, S, Y);
    let dg = dot(g, d);
    if (!(dg < 0)) {
      // Rounding can make the quasi-Newton direction non-descending; restart from steepest descent.
      S.length = 0; Y.length = 0;
      d = scaled(g, -1);
      dg = -dot(g, g);
    }
    // With no curvature information yet, the first step is scaled so it moves each coordinate O(1).
    const t0 = S.length === 0 ? Math.min(1, 1 / sumAbs(g)) : 1;
    const next = strongWolfe(evaluate, { t: 0, x, f, g, dg }, d, t0, search);
    if (!next) {
      if (S.length === 0) return done(k, false, "line search found no decrease");
      // A stale curvature model can point nowhere useful; the next iteration starts afresh.
      S.length = 0; Y.length = 0;
      continue;
    }
    const s = sub(next.x, x), y = sub(next.g, g);
    const sy = dot(s, y);
    // Strong Wolfe guarantees sᵀy > 0 in exact arithmetic; a pair without it would break positive
    // definiteness of the inverse-Hessian approximation.
    if (sy > 1e-10 * dot(y, y)) {
      S.push(s); Y.push(y);
      if (S.length > m) { S.shift(); Y.shift(); }
    }
    const fPrev = f;
    ({ x, f, g } = next);
    history.push(f);
    if (maxAbs(g) < tol) return done(k + 1, true, "gradient below tol");
    if (fPrev - f < tol * Math.max(1, Math.abs(f))) return done(k + 1, true, "objective change below tol");
  }
  return done(maxIter, false, "reached maxIter");
}

/** −H·g by the two-loop recursion, with H₀ = (sᵀy / yᵀy)·I from the newest pair. */
function direction(g: Float64Array, S: Float64Array[], Y: Float64Array[]): Float64Array {
  const q = Float64Array.from(g);
  const k = S.length;
  const alpha = new Float64Array(k), rho = new Float64Array(k);
  for (let i = k - 1; i >= 0; i--) {
    rho[i] = 1 / dot(Y[i], S[i]);
    alpha[i] = rho[i] * dot(S[i], q);
    axpy(-alpha[i], Y[i], q);
  }
  const gamma = k > 0 ? dot(S[k - 1], Y[k - 1]) / dot(Y[k - 1], Y[k - 1]) : 1;
  for (let i = 0; i < q.length; i++) q[i] *= gamma;
  for (let i = 0; i < k; i++) {
    const beta = rho[i] * dot(Y[i], q);
    axpy(alpha[i] - beta, S[i], q);
  }
  for (let i = 0; i < q.length; i++) q[i] = -q[i];
  return q;
}

interface SearchOptions {
  c1: number;
  c2: number;
  maxEvals: number;
}

/** A step t along d satisfying f(x+td) ≤ f + c1·t·g·d and |g(x+td)·d| ≤ c2·|g·d| (Alg. 3.5), or null. */
function strongWolfe(
  evaluate: (x: Float64Array) => { f: number; g: Float64Array },
  start: Point,
  d: Float64Array,
  t0: number,
  o: SearchOptions,
): Point | null {
  let evals = 0;
  const at = (t: number): Point => {
    evals++;
    const x = Float64Array.from(start.x);
    axpy(t, d, x);
    const { f, g } = evaluate(x);
    return { t, x, f, g, dg: dot(g, d) };
  };
  const armijo = (p: Point) => p.f <= start.f + o.c1 * p.t * start.dg;
  const curvature = (p: Point) => Math.abs(p.dg) <= -o.c2 * start.dg;

  // Alg. 3.6: lo always satisfies sufficient decrease and has the lowest f seen so far; the
  // interval [lo, hi] always contains a step satisfying the strong Wolfe conditions.
  const zoom = (lo: Point, hi: Point): Point | null => {
    while (evals < o.maxEvals) {
      const width = Math.abs(hi.t - lo.t);
      if (width * maxAbs(d) < 1e-14 * Math.max(1, maxAbs(start.x))) break;
      const p = at(safeguardedCubic(lo, hi));
      if (!Number.isFinite(p.f) || !armijo(p) || p.f >= lo.f) {
        hi = p;
      } else {
        if (curvature(p)) return p;
        if (p.dg * (hi.t - lo.t) >= 0) hi = lo;
        lo = p;
      }
    }
    // Out of budget: the best sufficient-decrease point still makes progress.
    return lo.t > 0 ? lo : null;
  };

  let prev = start;
  let t = t0;
  while (evals < o.maxEvals) {
    const p = at(t);
    if (!Number.isFinite(p.f) || !armijo(p) || (prev !== start && p.f >= prev.f)) return zoom(prev, p);
    if (curvature(p)) return p;
    if (p.dg >= 0) return zoom(p, prev);
    prev = p;
    t *= 2;
  }
  return prev.t > 0 ? prev : null;
}

/** Minimiser of the cubic through both ends' values and slopes, kept at least 10% of the interval
 *  away from its ends; bisection when the cubic has no usable minimum. */
function safeguardedCubic(a: Point, b: Point): number {
  const lo = Math.min(a.t, b.t), hi = Math.max(a.t, b.t);
  const margin = 0.1 * (hi - lo);
  const mid = (lo + hi) / 2;
  if (!Number.isFinite(a.f) || !Number.isFinite(b.f)) return mid;
  const d1 = a.dg + b.dg - (3 * (a.f - b.f)) / (a.t - b.t);
  const disc = d1 * d1 - a.dg * b.dg;
  if (disc < 0) return mid;
  const d2 = Math.sign(b.t - a.t) * Math.sqrt(disc);
  const t = b.t - (b.t - a.t) * ((b.dg + d2 - d1) / (b.dg - a.dg + 2 * d2));
  return Number.isFinite(t) && t >= lo + margin && t <= hi - margin ? t : mid;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function axpy(alpha: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < y.length; i++) y[i] += alpha * x[i];
}

function sub(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] - b[i];
  return out;
}

function scaled(a: Float64Array, c: number): Float64Array {
  return a.map((v) => v * c);
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function sumAbs(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]);
  return s;
}
