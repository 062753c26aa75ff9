// Metric loggers. Each row is the metrics logged at one global step (the number of optimizer steps done).
import { appendFileSync, mkdirSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
import type { Metrics } from "./module.js";

export type RunStatus = "success" | "failed" | "interrupted";

export interface Logger {
  logMetrics(metrics: Metrics, step: number): void;
  logHyperparams?(params: Record<string, unknown>): Promise<void>;
  /** Writes out what is buffered; the trainer calls it every 100 steps, after validation and at epoch ends. */
  save?(): Promise<void>;
  finalize?(status: RunStatus): Promise<void>;
}

/** Lightning's CSVLogger format: metrics.csv with one row per log call, a `step` column, and the columns sorted
 *  by name; a metric missing from a row is an empty cell. Rows are kept in memory and the file is rewritten
 *  whole, since a new metric adds a column. */
export class CSVLogger implements Logger {
  readonly file: string;
  private readonly rows: Metrics[] = [];
  private readonly keys = new Set<string>();

  constructor(readonly dir: string) {
    this.file = join(dir, "metrics.csv");
  }

  logMetrics(metrics: Metrics, step: number): void {
    const row = { ...metrics, step };
    for (const k of Object.keys(row)) this.keys.add(k);
    this.rows.push(row);
  }

  async logHyperparams(params: Record<string, unknown>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeJsonAtomic(join(this.dir, "hparams.json"), params);
  }

  async save(): Promise<void> {
    const cols = [...this.keys].sort();
    const lines = [cols.join(","), ...this.rows.map((r) => cols.map((c) => (r[c] === undefined ? "" : String(r[c]))).join(","))];
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.file, `${lines.join("\n")}\n`);
  }

  async finalize(): Promise<void> {
    await this.save();
  }
}

/** One JSON object per line ({"step": 10, "train_loss": 0.41, ...}) in metrics.jsonl, appended as logged. */
export class JSONLLogger implements Logger {
  readonly file: string;

  constructor(readonly dir: string) {
    this.file = join(dir, "metrics.jsonl");
  }

  logMetrics(metrics: Metrics, step: number): void {
    mkdirSync(this.dir, { recursive: true });
    appendFileSync(this.file, `${JSON.stringify({ step, ...metrics })}\n`);
  }

  async logHyperparams(params: Record<string, unknown>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeJsonAtomic(join(this.dir, "hparams.json"), params);
  }
}
