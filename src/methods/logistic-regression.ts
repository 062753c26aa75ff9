// Multinomial logistic regression for the feature-based approach: the classic "frozen embeddings +
// linear classifier" baseline. Fit in float64 on the full batch, so the result is the optimum of a
// convex problem rather than a point on a training trajectory.
import { Tensor } from "../tensor/index.js";
import { loadClassifier, saveClassifier } from "./classifier-file.js";
import { minimizeAdam } from "./full-batch-adam.js";
import { accuracy, checkFeatures, encodeLabels, predictFromScores, type Labels } from "./labels.js";
import { minimizeLbfgs } from "./lbfgs.js";

export interface LogisticRegressionOptions {
  /**
   * L2 strength λ. The objective is
   *   mean_i CE(softmax(W x_i + b), y_i) + λ/2 · ‖W‖²   (the intercept is not penalised),
   * which is sklearn's LogisticRegression(multi_class="multinomial") with λ = 1 / (C · N).
   */
  l2?: number;
  /** sklearn's inverse strength: sets λ = 1 / (C · N) at fit time. Default when neither is given: C = 1. */
  C?: number;
  /** Iterations (L-BFGS) or steps (Adam). Default 100 for L-BFGS, 2000 for Adam. */
  maxIter?: number;
  /** Stop when the objective changes by less than tol (relative to max(1, |loss|)); L-BFGS also stops
   *  when every gradient entry is below tol. Default 1e-6. */
  tol?: number;
  solver?: "lbfgs" | "adam";
  /** Adam's learning rate. Default 0.01. */
  lr?: number;
  fitIntercept?: boolean;
}

interface SavedMeta {
  kind: "LogisticRegression";
  options: LogisticRegressionOptions;
}

export class LogisticRegression {
  readonly options: LogisticRegressionOptions;
  /** [K, D] float64. */
  coef: Tensor | null = null;
  /** [K] float64. */
  intercept: Tensor | null = null;
  classes: Int32Array = new Int32Array(0);
  nIter = 0;
  converged = false;
  /** Objective value per iteration, the starting value first. */
  lossHistory: number[] = [];

  constructor(options: LogisticRegressionOptions = {}) {
    if (options.l2 !== undefined && options.C !== undefined) throw new Error("LogisticRegression: give l2 or C, not both");
    if ((options.l2 ?? 0) < 0 || (options.C ?? 1) <= 0) throw new RangeError("LogisticRegression: l2 must be >= 0 and C > 0");
    this.options = { ...options };
  }

  fit(X: Tensor, y: Labels): this {
    const [n, dim] = checkFeatures(X, "LogisticRegression.fit");
    const { classes, index } = encodeLabels(y);
    if (index.length !== n) throw new RangeError(`LogisticRegression.fit: ${index.length} labels for ${n} rows`);
    const k = classes.length;
    const o = this.options;
    const l2 = o.l2 ?? 1 / ((o.C ?? 1) * n);
    const objective = softmaxObjective(X.data, index, n, dim, k, l2, o.fitIntercept ?? true);
    const x0 = new Float64Array(k * dim + k);
    const solver = o.solver ?? "lbfgs";
    const r = solver === "lbfgs"
      ? minimizeLbfgs(objective, x0, { maxIter: o.maxIter ?? 100, tol: o.tol ?? 1e-6 })
      : minimizeAdam(objective, x0, { maxIter: o.maxIter ?? 2000, tol: o.tol ?? 1e-6, lr: o.lr ?? 0.01 });
    if (!Number.isFinite(r.f)) throw new Error(`LogisticRegression.fit (${solver}) diverged: the loss became ${r.f}`);
    this.coef = new Tensor(r.x.slice(0, k * dim), [k, dim]);
    this.intercept = new Tensor(r.x.slice(k * dim), [k]);
    this.classes = classes;
    this.nIter = r.iterations;
    this.converged = r.converged;
    this.lossHistory = r.history;
    return this;
  }

  /** The logits W x + b, [N, K] float64. */
  decisionFunction(X: Tensor): Tensor {
    const { coef, intercept } = this.fitted();
    const [k, dim] = coef.shape;
    const [n] = checkFeatures(X, "LogisticRegression", dim);
    const out = new Float64Array(n * k);
    for (let i = 0; i < n; i++) logitsRow(X.data, i, dim, coef.data, intercept.data, k, out, i * k);
    return new Tensor(out, [n, k]);
  }

  /** [N, K] float32 probabilities, columns in the order of `classes`. */
  predictProba(X: Tensor): Tensor {
    const z = this.decisionFunction(X);
    const [n, k] = z.shape;
    const p = z.data as Float64Array;
    for (let i = 0; i < n; i++) softmaxInPlace(p, i * k, k);
    return z.to("float32");
  }

  predict(X: Tensor): Int32Array {
    return predictFromScores(this.decisionFunction(X), this.classes);
  }

  /** Accuracy. */
  score(X: Tensor, y: Labels): number {
    return accuracy(this.predict(X), y);
  }

  async save(path: string): Promise<void> {
    const { coef, intercept } = this.fitted();
    const meta: SavedMeta = { kind: "LogisticRegression", options: this.options };
    await saveClassifier(path, meta, new Map([["weight", coef], ["bias", intercept]]), this.classes);
  }

  static async load(path: string): Promise<LogisticRegression> {
    const { meta, tensors, classes } = await loadClassifier<SavedMeta>(path, "LogisticRegression");
    const model = new LogisticRegression(meta.options);
    const weight = tensors.get("weight"), bias = tensors.get("bias");
    if (!weight || !bias) throw new Error(`${path}: LogisticRegression needs "weight" and "bias" tensors`);
    model.coef = weight;
    model.intercept = bias;
    model.classes = classes;
    return model;
  }

  private fitted(): { coef: Tensor; intercept: Tensor } {
    if (!this.coef || !this.intercept) throw new Error("LogisticRegression is not fitted; call fit() or load() first");
    return { coef: this.coef, intercept: this.intercept };
  }
}

/** Loss and gradient over θ = [W (K×D, row-major), b (K)]. */
function softmaxObjective(
  X: ArrayLike<number>, y: Int32Array, n: number, dim: number, k: number, l2: number, fitIntercept: boolean,
) {
  const z = new Float64Array(k);
  return (theta: Float64Array, grad: Float64Array): number => {
    const W = theta.subarray(0, k * dim), b = theta.subarray(k * dim);
    grad.fill(0);
    const gW = grad.subarray(0, k * dim), gb = grad.subarray(k * dim);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      logitsRow(X, i, dim, W, b, k, z, 0);
      loss -= softmaxInPlace(z, 0, k, y[i]);
      z[y[i]] -= 1;
      const row = i * dim;
      for (let c = 0; c < k; c++) {
        const r = z[c] / n;
        if (r === 0) continue;
        gb[c] += r;
        const w = c * dim;
        for (let d = 0; d < dim; d++) gW[w + d] += r * X[row + d];
      }
    }
    loss /= n;
    let sq = 0;
    for (let j = 0; j < W.length; j++) {
      sq += W[j] * W[j];
      gW[j] += l2 * W[j];
    }
    if (!fitIntercept) gb.fill(0);
    return loss + 0.5 * l2 * sq;
  };
}

function logitsRow(
  X: ArrayLike<number>, i: number, dim: number, W: ArrayLike<number>, b: ArrayLike<number>, k: number,
  out: Float64Array, offset: number,
): void {
  const row = i * dim;
  for (let c = 0; c < k; c++) {
    let s = b[c];
    const w = c * dim;
    for (let d = 0; d < dim; d++) s += W[w + d] * X[row + d];
    out[offset + c] = s;
  }
}

/** Softmax of z[offset .. offset+k) in place; returns log p[target] when a target is given. */
function softmaxInPlace(z: Float64Array, offset: number, k: number, target = -1): number {
  let max = -Infinity;
  for (let c = 0; c < k; c++) max = Math.max(max, z[offset + c]);
  let sum = 0;
  for (let c = 0; c < k; c++) sum += Math.exp(z[offset + c] - max);
  const logTarget = target >= 0 ? z[offset + target] - max - Math.log(sum) : 0;
  for (let c = 0; c < k; c++) z[offset + c] = Math.exp(z[offset + c] - max) / sum;
  return logTarget;
}
