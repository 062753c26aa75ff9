// Saves resumable checkpoints (see ../checkpoint.ts), keeping the best k by a monitored metric, as Lightning's
// ModelCheckpoint. It saves after every validation pass, or at the end of each epoch when there is no
// validation, or every N optimizer steps when everyNTrainSteps is set.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { monitored, type Callback, type MonitorMode } from "./callback.js";
import type { Trainer } from "../trainer.js";

export interface ModelCheckpointOptions {
  dirpath: string;
  /** Directory name template: "{epoch}-{step}" (the default) gives "epoch=2-step=300"; a format spec rounds a
   *  metric: "{epoch}-{val_loss:.3f}" gives "epoch=2-val_loss=0.412". */
  filename?: string;
  monitor?: string;
  mode?: MonitorMode;
  /** How many checkpoints to keep: the best k with a monitor, the latest k without; -1 keeps all, 0 none
   *  (only "last", when saveLast). Default 1. */
  saveTopK?: number;
  /** Also keep an always-current copy in <dirpath>/last, written at every save and at the end of fit. */
  saveLast?: boolean;
  everyNTrainSteps?: number;
  /** Weights only: smaller, but training cannot resume from it. */
  saveWeightsOnly?: boolean;
}

interface ModelCheckpointState {
  /** path -> monitored score */
  bestKModels: Record<string, number>;
  bestModelPath: string | null;
  bestModelScore: number | null;
  /** Without a monitor: the kept checkpoints, oldest first. */
  recent: string[];
  lastModelPath: string | null;
  lastSavedStep: number | null;
}

export const LAST_NAME = "last";

export class ModelCheckpoint implements Callback {
  readonly dirpath: string;
  readonly monitor?: string;
  readonly mode: MonitorMode;
  readonly saveTopK: number;
  private state: ModelCheckpointState = { bestKModels: {}, bestModelPath: null, bestModelScore: null, recent: [], lastModelPath: null, lastSavedStep: null };

  constructor(readonly opts: ModelCheckpointOptions) {
    this.dirpath = opts.dirpath;
    this.monitor = opts.monitor;
    this.mode = opts.mode ?? "min";
    this.saveTopK = opts.saveTopK ?? 1;
    if (!Number.isInteger(this.saveTopK) || this.saveTopK < -1) throw new RangeError(`saveTopK must be an integer >= -1, got ${this.saveTopK}`);
    if (opts.everyNTrainSteps !== undefined && (!Number.isInteger(opts.everyNTrainSteps) || opts.everyNTrainSteps < 1)) {
      throw new RangeError(`everyNTrainSteps must be a positive integer, got ${opts.everyNTrainSteps}`);
    }
  }

  get stateKey(): string {
    return `ModelCheckpoint${JSON.stringify({ monitor: this.monitor ?? null, mode: this.mode, everyNTrainSteps: this.opts.everyNTrainSteps ?? null })}`;
  }

  get bestModelPath(): string | null { return this.state.bestModelPath; }
  get bestModelScore(): number | null { return this.state.bestModelScore; }
  get lastModelPath(): string | null { return this.state.lastModelPath; }
  /** With a monitor: the kept checkpoints, path -> score. */
  get bestKModels(): Record<string, number> { return { ...this.state.bestKModels }; }
  get savedPaths(): string[] { return this.monitor ? Object.keys(this.state.bestKModels) : [...this.state.recent]; }

  onTrainStepEnd(trainer: Trainer): Promise<void> | void {
    const n = this.opts.everyNTrainSteps;
    if (n && trainer.globalStep % n === 0) return this.save(trainer);
  }

  onValidationEnd(trainer: Trainer): Promise<void> | void {
    if (!this.opts.everyNTrainSteps) return this.save(trainer);
  }

  onTrainEpochEnd(trainer: Trainer): Promise<void> | void {
    if (!this.opts.everyNTrainSteps && !trainer.validationEnabled) return this.save(trainer);
  }

  async onFitEnd(trainer: Trainer): Promise<void> {
    if (this.opts.saveLast && this.state.lastSavedStep !== trainer.globalStep) await this.writeLast(trainer);
  }

  private async save(trainer: Trainer): Promise<void> {
    const { path, evicted } = this.saveTopK === 0 ? { path: null, evicted: [] } : this.monitor ? this.rank(trainer, this.monitor) : this.rotate(trainer);
    // The state written into the checkpoint already lists it, so a run resumed from it keeps ranking it.
    if (path) await trainer.saveCheckpoint(path, { weightsOnly: this.opts.saveWeightsOnly });
    if (this.opts.saveLast) await this.writeLast(trainer);
    for (const p of evicted) await rm(p, { recursive: true, force: true });
  }

  /** Best-k: a new checkpoint only if it beats the worst kept one (or fewer than k are kept). */
  private rank(trainer: Trainer, monitor: string): { path: string | null; evicted: string[] } {
    // Before the first validation, step-triggered saves have nothing to rank by yet.
    if (this.opts.everyNTrainSteps && trainer.callbackMetrics[monitor] === undefined) return { path: null, evicted: [] };
    const raw = monitored(trainer, monitor, "ModelCheckpoint");
    const score = Number.isFinite(raw) ? raw : this.mode === "min" ? Infinity : -Infinity;
    const better = (a: number, b: number) => (this.mode === "min" ? a < b : a > b);
    const kept = Object.entries(this.state.bestKModels);
    const worst = kept.reduce<[string, number] | null>((w, e) => (w === null || better(w[1], e[1]) ? e : w), null);
    const full = this.saveTopK !== -1 && kept.length >= this.saveTopK;
    if (full && !better(score, worst![1])) return { path: null, evicted: [] };
    const path = this.pathFor(trainer);
    const evicted: string[] = [];
    this.state.bestKModels[path] = score;
    if (full && worst![0] !== path) {
      delete this.state.bestKModels[worst![0]];
      evicted.push(worst![0]);
    }
    [this.state.bestModelPath, this.state.bestModelScore] = Object.entries(this.state.bestKModels).reduce((b, e) => (better(e[1], b[1]) ? e : b));
    return { path, evicted };
  }

  /** Latest-k, without a monitor. */
  private rotate(trainer: Trainer): { path: string; evicted: string[] } {
    const path = this.pathFor(trainer);
    this.state.recent = [...this.state.recent.filter((p) => p !== path), path];
    const evicted = this.saveTopK === -1 ? [] : this.state.recent.splice(0, Math.max(0, this.state.recent.length - this.saveTopK));
    this.state.bestModelPath = path;
    return { path, evicted };
  }

  private async writeLast(trainer: Trainer): Promise<void> {
    this.state.lastSavedStep = trainer.globalStep;
    this.state.lastModelPath = join(this.dirpath, LAST_NAME);
    await trainer.saveCheckpoint(this.state.lastModelPath, { weightsOnly: this.opts.saveWeightsOnly });
  }

  private pathFor(trainer: Trainer): string {
    const values: Record<string, number> = { ...trainer.callbackMetrics, epoch: trainer.currentEpoch, step: trainer.globalStep };
    return join(this.dirpath, formatCheckpointName(this.opts.filename ?? "{epoch}-{step}", values));
  }

  stateDict(): ModelCheckpointState {
    return structuredClone(this.state);
  }

  loadStateDict(state: unknown): void {
    this.state = structuredClone(state as ModelCheckpointState);
  }
}

/** "{epoch}-{val_loss:.2f}" with {epoch: 1, val_loss: 0.4567} -> "epoch=1-val_loss=0.46". */
export function formatCheckpointName(template: string, values: Record<string, number>): string {
  return template.replace(/\{([^}:]+)(?::\.(\d+)f)?\}/g, (_, name: string, digits?: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`ModelCheckpoint filename "${template}": no metric "${name}" (have ${Object.keys(values).sort().join(", ")})`);
    return `${name}=${digits === undefined ? String(v) : v.toFixed(Number(digits))}`;
  });
}
