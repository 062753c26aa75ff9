// Stops fit when a validation metric stops improving, as Lightning's EarlyStopping.
import { monitored, type Callback, type MonitorMode } from "./callback.js";
import type { Trainer } from "../trainer.js";

export interface EarlyStoppingOptions {
  monitor: string;
  /** Validation passes without improvement before stopping (default 3). */
  patience?: number;
  mode?: MonitorMode;
  /** Smaller changes do not count as improvement. */
  minDelta?: number;
  /** Stop at once when the metric is NaN or infinite (default true). */
  checkFinite?: boolean;
}

interface EarlyStoppingState {
  wait: number;
  bestScore: number | null;
  stoppedStep: number | null;
}

export class EarlyStopping implements Callback {
  readonly monitor: string;
  readonly patience: number;
  readonly mode: MonitorMode;
  readonly minDelta: number;
  private readonly checkFinite: boolean;
  private state: EarlyStoppingState = { wait: 0, bestScore: null, stoppedStep: null };

  constructor(opts: EarlyStoppingOptions) {
    this.monitor = opts.monitor;
    this.patience = opts.patience ?? 3;
    this.mode = opts.mode ?? "min";
    this.minDelta = Math.abs(opts.minDelta ?? 0);
    this.checkFinite = opts.checkFinite ?? true;
  }

  get stateKey(): string {
    return `EarlyStopping${JSON.stringify({ monitor: this.monitor, mode: this.mode })}`;
  }

  get wait(): number { return this.state.wait; }
  get bestScore(): number | null { return this.state.bestScore; }
  /** The global step at which this callback stopped training, if it did. */
  get stoppedStep(): number | null { return this.state.stoppedStep; }

  onValidationEnd(trainer: Trainer): void {
    const value = monitored(trainer, this.monitor, "EarlyStopping");
    if (this.checkFinite && !Number.isFinite(value)) {
      this.stop(trainer, `EarlyStopping: ${this.monitor} is ${value}`);
      return;
    }
    if (improves(value, this.state.bestScore, this.mode, this.minDelta)) {
      this.state.bestScore = value;
      this.state.wait = 0;
      return;
    }
    this.state.wait++;
    if (this.state.wait >= this.patience) {
      this.stop(trainer, `EarlyStopping: ${this.monitor} did not improve in the last ${this.state.wait} validations (best ${this.state.bestScore})`);
    }
  }

  private stop(trainer: Trainer, reason: string): void {
    this.state.stoppedStep = trainer.globalStep;
    trainer.requestStop(reason);
  }

  stateDict(): EarlyStoppingState {
    return { ...this.state };
  }

  loadStateDict(state: unknown): void {
    this.state = { ...(state as EarlyStoppingState) };
  }
}

/** Whether `value` beats `best` by more than `minDelta` in the direction of `mode`. */
function improves(value: number, best: number | null, mode: MonitorMode, minDelta = 0): boolean {
  if (!Number.isFinite(value)) return false;
  if (best === null || !Number.isFinite(best)) return true;
  return mode === "min" ? value < best - minDelta : value > best + minDelta;
}
