// A loss log with one row per logged step (step, elapsed_s, lr, train_loss, val_loss, ...): the metrics the
// trainer and callbacks log separately at the same step are merged into that step's row, so the file reads
// as a loss-against-time table. Rewritten whole on save, like CSVLogger.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.js";
import { type Logger, readMetricRows } from "../train/loggers.js";
import type { Metrics } from "../train/module.js";

export class StepCsvLogger implements Logger {
  readonly file: string;
  private readonly rows = new Map<number, Metrics>();

  constructor(readonly dir: string, readonly fileName = "metrics.csv") {
    this.file = join(dir, fileName);
  }

  logMetrics(metrics: Metrics, step: number): void {
    this.rows.set(step, { ...this.rows.get(step), ...metrics });
  }

  async resumeAt(step: number): Promise<void> {
    for (const { step: s, ...r } of await readMetricRows(this.file)) if (s <= step) this.logMetrics(r, s);
  }

  async save(): Promise<void> {
    const keys = new Set<string>();
    for (const r of this.rows.values()) for (const k of Object.keys(r)) keys.add(k);
    keys.delete("epoch");
    const cols = ["step", "epoch", ...[...keys].sort()];
    const lines = [cols.join(",")];
    for (const [step, r] of [...this.rows].sort((a, b) => a[0] - b[0])) {
      lines.push(cols.map((c) => (c === "step" ? step : r[c] === undefined ? "" : String(r[c]))).join(","));
    }
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.file, `${lines.join("\n")}\n`);
  }

  async finalize(): Promise<void> {
    await this.save();
  }
}
