// Metric loggers. Each row is the metrics logged at one global step (the number of optimizer steps done).
import { appendFileSync, mkdirSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
import type { Metrics } from "./module.js";

export type RunStatus = "success" | "failed" | "interrupted";

export interface Logger {
  logMetrics(metrics: Metrics, step: number): void;
  logHyperparams?(params: Record<string, unknown>): Promise<void>;
  /** Writes out what is buffered; the trainer calls it every 100 steps, after validation and at epoch ends. */
  save?(): Promise<void>;
  /** The run continues from a checkpoint saved at `step`: keep what an earlier run logged up to that step, and
   *  drop what it logged after it, which the resumed run logs again. */
  resumeAt?(step: number): Promise<void>;
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

  async resumeAt(step: number): Promise<void> {
    const kept = (await readMetricRows(this.file)).filter((r) => r.step <= step);
    this.rows.unshift(...kept);
    for (const r of kept) for (const k of Object.keys(r)) this.keys.add(k);
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

  async resumeAt(step: number): Promise<void> {
    const text = await readIfExists(this.file);
    if (text === null) return;
    const kept = text.split("\n").filter((line, i) => {
      if (!line.trim()) return false;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch {
        throw new Error(`${this.file}:${i + 1}: not a JSON object; move the file away to resume`);
      }
      const s = (row as { step?: unknown } | null)?.step;
      if (typeof s !== "number") throw new Error(`${this.file}:${i + 1}: no numeric "step"; move the file away to resume`);
      return s <= step;
    });
    await writeFileAtomic(this.file, kept.map((l) => `${l}\n`).join(""));
  }

  async logHyperparams(params: Record<string, unknown>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeJsonAtomic(join(this.dir, "hparams.json"), params);
  }
}

/** The rows of a metrics.csv this module wrote (a `step` column, numeric or empty cells), in file order; none
 *  when the file does not exist. What it cannot read is an error naming the line: a resume must not silently
 *  drop a run's history. */
export async function readMetricRows(file: string): Promise<Metrics[]> {
  const text = await readIfExists(file);
  if (text === null) return [];
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  if (!lines.length) return [];
  const cols = lines[0].split(",");
  if (!cols.includes("step")) throw new Error(`${file}:1: no "step" column; move the file away to resume`);
  return lines.slice(1).map((line, i) => {
    const cells = line.split(",");
    if (cells.length !== cols.length) throw new Error(`${file}:${i + 2}: ${cells.length} cells where the header has ${cols.length}; move the file away to resume`);
    const row: Metrics = {};
    cells.forEach((c, j) => {
      if (c === "") return;
      const v = Number(c);
      if (Number.isNaN(v) && c !== "NaN") throw new Error(`${file}:${i + 2}: column "${cols[j]}" is not a number ("${c.slice(0, 40)}"); move the file away to resume`);
      row[cols[j]] = v;
    });
    if (row.step === undefined) throw new Error(`${file}:${i + 2}: no step; move the file away to resume`);
    return row;
  });
}

/** A logger's earlier file, or null when no run wrote one. */
function readIfExists(file: string): Promise<string | null> {
  return readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return null;
    throw e;
  });
}
