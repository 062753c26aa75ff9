// Numerical faults: a NaN or infinite loss or gradient stops training before the optimizer step can spread it
// into the weights, with an error that says where it happened and what to try.
import type { Tensor } from "../tensor/index.js";

export class NonFiniteError extends Error {
  override readonly name = "NonFiniteError";

  constructor(
    message: string,
    /** The optimizer step that failed (1-based: the first step is step 1). */
    readonly step: number,
    readonly epoch: number,
    /** The newest checkpoint saved before the fault, which holds good weights. */
    readonly lastCheckpoint: string | null,
  ) {
    super(message);
  }
}

/** The first parameter whose gradient holds a NaN or infinity, and that value. */
export function firstNonFiniteGrad(named: Iterable<[string, Tensor]>): [string, number] | null {
  for (const [name, p] of named) {
    const g = p.peekGrad()?.data;
    if (!g) continue;
    for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i])) return [name, g[i]];
  }
  return null;
}

export interface FaultContext {
  step: number;
  epoch: number;
  /** First and last micro-batch (within the epoch) of the failing step. */
  batches: [number, number];
  /** Weight updates made before the fault in this run or the run it resumed. */
  stepsDone: number;
  baseLr: number;
  clipping: boolean;
  /** What the caller calls gradient clipping (the CLI: --clip). */
  clipName: string;
  lastCheckpoint: string | null;
}

export function nonFiniteError(what: string, ctx: FaultContext): NonFiniteError {
  const cause = ctx.stepsDone === 0
    ? "no weight has been updated yet, so the data or the initial weights produce it (look for empty inputs, labels outside the model's range, or corrupt weights)"
    : `the learning rate ${formatLr(ctx.baseLr)} may be too high; lower it${ctx.clipping ? "" : ` or set ${ctx.clipName}`}`;
  const where = ctx.lastCheckpoint ? `the last good checkpoint is at ${ctx.lastCheckpoint}` : "no checkpoint was saved before it";
  const [first, last] = ctx.batches;
  const batches = first === last ? `batch ${first}` : `batches ${first}-${last}`;
  return new NonFiniteError(`${what} at step ${ctx.step} (epoch ${ctx.epoch}, ${batches}): ${cause}; ${where}`, ctx.step, ctx.epoch, ctx.lastCheckpoint);
}

/** 0.05 -> "5e-2", as learning rates are usually written. */
export function formatLr(lr: number): string {
  return Number(lr.toPrecision(3)).toExponential().replace("e+", "e");
}
