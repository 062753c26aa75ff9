// The learning-rate range test of Lightning's Tuner.lr_find (Smith 2015, "Cyclical Learning Rates for Training
// Neural Networks"): train for up to `numTraining` optimizer steps while the learning rate climbs from minLr to
// maxLr, record an exponentially smoothed loss at every rate, stop once it exceeds earlyStopThreshold × the best
// so far, and suggest the rate where the smoothed loss falls fastest. Afterwards the model is exactly as it was
// (weights, gradients, train/eval mode), and so are the random generator and the loader, so a fit that follows
// starts from the same state as it would have without the test.
import type { Loader } from "../data/dataloader.js";
import { clipGradNorm } from "../optim/index.js";
import { Tensor, defaultGenerator, scale } from "../tensor/index.js";
import { splitStepOutput, type Trainer } from "./trainer.js";
import type { TrainingModule } from "./module.js";

export interface LrFindOptions {
  /** The first learning rate tried (default 1e-8). */
  minLr?: number;
  /** The last (default 1). */
  maxLr?: number;
  /** Optimizer steps, one learning rate each (default 100). */
  numTraining?: number;
  /** How the rate climbs between minLr and maxLr (default exponential). */
  mode?: "exponential" | "linear";
  /** Stop when the smoothed loss exceeds this multiple of the best smoothed loss (default 4); null never stops. */
  earlyStopThreshold?: number | null;
}

/** A learning rate, or "auto": a range test's suggestion, found before training. */
export type LearningRate = number | "auto";

/** What the range test behind an "auto" learning rate found, in JSON (a run's metrics.json, the compare report). */
export interface LrFindSummary {
  /** The steepest descent of the smoothed loss: the rate trained with (null when the test had too few points). */
  suggestion: number | null;
  /** Where the smoothed loss was lowest. */
  minLossLr: number | null;
  steps: number;
  numTraining: number;
  /** The loss diverged before numTraining steps. */
  stoppedEarly: boolean;
  seconds: number;
}

/** Lightning's smoothing factor: each step's loss enters the running average with weight 1 - β. */
const BETA = 0.98;

export class LrFinder {
  constructor(
    readonly mode: "exponential" | "linear",
    /** The learning rate of every step taken, in order. */
    readonly lrs: number[],
    /** The smoothed loss after each of those steps (NaN where the loss was not finite). */
    readonly losses: number[],
    /** Whether the loss diverged before numTraining steps. */
    readonly stoppedEarly: boolean,
  ) {}

  get stepsRun(): number {
    return this.lrs.length;
  }

  /**
   * The learning rate at the steepest descent of the smoothed loss, leaving out the first `skipBegin` points
   * (the average is still settling) and the last `skipEnd` (the divergence that stopped the test), as
   * Lightning's suggestion() does; null when fewer than two finite points remain. Two choices differ from
   * Lightning's, both because its suggestion lands on noise:
   * - The slope is taken against log(lr) in exponential mode, the axis the rates are evenly spread on. Against lr
   *   itself (torch.gradient(losses, spacing=[lrs])) the steps near 1e-8 are 1e8 times narrower than those near
   *   1, so batch-to-batch wobble there outweighs any real descent: on the bundled model it picked 9e-8 for
   *   every method.
   * - Only the points up to the lowest loss count: past it the loss is climbing, and a dip in a diverging
   *   loss is steeper than the descent (on the bundled model's full fine-tuning it picked 0.47, where the
   *   loss was three times its starting value).
   */
  suggestion(skipBegin = 10, skipEnd = 1): number | null {
    const lowest = this.minLossIndex(skipBegin);
    const idx: number[] = [];
    for (let i = skipBegin; i <= lowest && i < this.losses.length - skipEnd; i++) if (Number.isFinite(this.losses[i])) idx.push(i);
    if (idx.length < 2) return null;
    const x = idx.map((i) => (this.mode === "exponential" ? Math.log10(this.lrs[i]) : this.lrs[i]));
    const slopes = gradient(idx.map((i) => this.losses[i]), x);
    let best = 0;
    for (let j = 1; j < slopes.length; j++) if (slopes[j] < slopes[best]) best = j;
    return this.lrs[idx[best]];
  }

  /** The learning rate of the lowest smoothed loss after the first `skipBegin` points, whose average is still
   *  settling (null when none is finite). */
  minLossLr(skipBegin = 10): number | null {
    const i = this.minLossIndex(skipBegin);
    return i < 0 ? null : this.lrs[i];
  }

  private minLossIndex(skipBegin: number): number {
    let best = -1;
    for (let i = skipBegin; i < this.losses.length; i++) {
      if (Number.isFinite(this.losses[i]) && (best < 0 || this.losses[i] < this.losses[best])) best = i;
    }
    return best;
  }
}

/**
 * Runs the range test of `module` on `loader`, with the trainer's gradient accumulation and clipping. The
 * optimizer is a fresh one from module.configureOptimizers (its scheduler is left out: the test sets the rate
 * of every parameter group itself) and is dropped afterwards, so the trainer's own optimizer, if any, is untouched.
 */
export async function lrFind<B>(trainer: Trainer, module: TrainingModule<B>, loader: Loader<B>, opts: LrFindOptions = {}): Promise<LrFinder> {
  const minLr = opts.minLr ?? 1e-8, maxLr = opts.maxLr ?? 1, numTraining = opts.numTraining ?? 100, mode = opts.mode ?? "exponential";
  const threshold = opts.earlyStopThreshold === undefined ? 4 : opts.earlyStopThreshold;
  if (!(minLr > 0 && maxLr > minLr)) throw new RangeError(`lrFind: need 0 < minLr < maxLr, got minLr ${minLr}, maxLr ${maxLr}`);
  if (!Number.isInteger(numTraining) || numTraining < 2) throw new RangeError(`lrFind: numTraining must be an integer >= 2, got ${numTraining}`);
  if (loader.length === 0) throw new Error("lrFind: the training loader has no batches");

  const { optimizer } = module.configureOptimizers({ totalSteps: numTraining });
  const params = optimizer.paramGroups.flatMap((g) => g.params);
  const saved = {
    weights: params.map((p) => p.data.slice()),
    grads: params.map((p) => p.peekGrad()?.data.slice() ?? null),
    training: module.model.training,
    rng: defaultGenerator.getState(),
    loader: loader.stateDict?.(),
  };
  const accumulate = trainer.accumulateGradBatches, clip = trainer.opts.gradientClipVal;
  const lrs: number[] = [], losses: number[] = [];
  let avg = 0, best = Infinity, stoppedEarly = false;
  try {
    optimizer.zeroGrad();
    module.model.train();
    const batches = endless(loader);
    for (let step = 0; step < numTraining && !stoppedEarly; step++) {
      const lr = ladder(mode, minLr, maxLr, step / (numTraining - 1));
      for (const g of optimizer.paramGroups) g.lr = lr;
      let loss = 0;
      for (let i = 0; i < accumulate; i++) {
        const { batch, index } = batches.next().value as { batch: B; index: number };
        const out = splitStepOutput(module.trainingStep(batch, index)).loss;
        loss += out.item() / accumulate;
        (accumulate === 1 ? out : scale(out, 1 / accumulate)).backward();
      }
      lrs.push(lr);
      if (!Number.isFinite(loss)) { losses.push(NaN); stoppedEarly = true; break; }
      if (clip !== undefined) clipGradNorm(params, clip);
      optimizer.step();
      optimizer.zeroGrad();
      // Bias-corrected as in Adam, so the first smoothed loss is the first loss. (Lightning divides by
      // 1 - β^(step+2), reading the step counter after it has moved on, which shrinks the first values to
      // about half and so lowers the bar that early stopping compares against.)
      avg = BETA * avg + (1 - BETA) * loss;
      const smoothed = avg / (1 - BETA ** (step + 1));
      losses.push(smoothed);
      if (threshold !== null && step > 0 && smoothed > threshold * best) stoppedEarly = true;
      best = Math.min(best, smoothed);
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    params.forEach((p, i) => {
      p.data.set(saved.weights[i]);
      const grad = saved.grads[i];
      if (grad) p.grad = new Tensor(grad, p.shape);
      else p.clearGrad();
    });
    module.model.train(saved.training);
    defaultGenerator.setState(saved.rng);
    if (saved.loader) loader.loadStateDict?.(saved.loader);
  }
  return new LrFinder(mode, lrs, losses, stoppedEarly && lrs.length < numTraining);
}

/** The rate at fraction t of the test: minLr at 0, maxLr at 1, evenly spaced in log(lr) or in lr. (Lightning's
 *  scheduler reaches 2/N at the second step, so its first step is twice as wide as the others.) */
function ladder(mode: "exponential" | "linear", minLr: number, maxLr: number, t: number): number {
  return mode === "exponential" ? minLr * (maxLr / minLr) ** t : minLr + (maxLr - minLr) * t;
}

/** The loader's batches epoch after epoch, with their index within the epoch. */
function* endless<B>(loader: Loader<B>): Generator<{ batch: B; index: number }> {
  for (let epoch = 0; ; epoch++) {
    let index = 0;
    for (const batch of loader.iterate(epoch)) yield { batch, index: index++ };
  }
}

/**
 * dy/dx at every point for samples at increasing, unevenly spaced x, as torch.gradient / numpy.gradient with
 * coordinates and edge_order 1: second-order central differences inside, one-sided differences at the ends.
 */
export function gradient(y: number[], x: number[]): number[] {
  const n = y.length;
  if (n < 2) throw new RangeError("gradient needs at least two points");
  const out = new Array<number>(n);
  out[0] = (y[1] - y[0]) / (x[1] - x[0]);
  out[n - 1] = (y[n - 1] - y[n - 2]) / (x[n - 1] - x[n - 2]);
  for (let i = 1; i < n - 1; i++) {
    const hl = x[i] - x[i - 1], hr = x[i + 1] - x[i];
    out[i] = (hl * hl * y[i + 1] - hr * hr * y[i - 1] + (hr * hr - hl * hl) * y[i]) / (hl * hr * (hl + hr));
  }
  return out;
}
