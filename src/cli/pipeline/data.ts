// Datasets from the data flags: one file per split, or one file split with a seed; classification rows
// ({text, textPair?, label}) or causal-LM records ({prompt, completion} or {text}).
import { loadDataFiles, readRecords, splitDataset, type DatasetDict, type JsonRecord, type TextExample } from "../../data/index.js";
import { UsageError } from "../command.js";
import type { Task } from "../methods.js";
import type { LmColumns } from "./lm.js";
import type { LabelSpec } from "./sources.js";

export interface DataSettings {
  train?: string;
  validation?: string;
  test?: string;
  /** One file split into train / validation / test with `seed`. */
  data?: string;
  validationSplit?: number;
  testSplit?: number;
  textColumn?: string;
  textPairColumn?: string;
  labelColumn?: string;
  labelNames?: string[];
  promptColumn?: string;
  completionColumn?: string;
  /** Keep the first N rows of each split (after splitting). */
  maxRows?: number;
  seed?: number;
}

export type Splits<T> = Partial<DatasetDict<T[]>>;

export interface ClassificationData {
  splits: Splits<TextExample>;
  labels: LabelSpec;
}

export const SPLIT_NAMES = ["train", "validation", "test"] as const;

export async function loadClassificationData(s: DataSettings): Promise<ClassificationData> {
  const opts = { textColumn: s.textColumn, textPairColumn: s.textPairColumn, labelColumn: s.labelColumn, labelNames: s.labelNames };
  let splits: Splits<TextExample>, names: string[];
  if (s.data !== undefined) {
    const loaded = await loadDataFiles(s.data, opts);
    splits = splitRows(loaded.rows, s);
    names = loaded.labelNames;
  } else {
    const files = filesBySplit(s);
    const loaded = await loadDataFiles({ ...files, train: files.train }, opts);
    splits = Object.fromEntries(SPLIT_NAMES.filter((k) => files[k] !== undefined).map((k) => [k, loaded[k]!.rows]));
    names = loaded.train.labelNames;
  }
  if (names.length < 2) throw new UsageError(`the data has ${names.length} label (${names.join(", ")}); classification needs at least two (set --label-names)`);
  // Integer labels without names stay anonymous, so a model's own names (e.g. NEGATIVE/POSITIVE) survive.
  const named = s.labelNames !== undefined || names.some((n, i) => n !== String(i));
  return { splits: limitRows(splits, s.maxRows), labels: { names, named } };
}

/** One file scored against a trained model: labels map through the model's names (or index them). */
export async function loadClassificationFile(file: string, s: DataSettings, labelNames: string[]): Promise<TextExample[]> {
  const loaded = await loadDataFiles(file, { textColumn: s.textColumn, textPairColumn: s.textPairColumn, labelColumn: s.labelColumn, labelNames });
  return s.maxRows === undefined ? loaded.rows : loaded.rows.slice(0, s.maxRows);
}

export async function loadLmData(s: DataSettings): Promise<Splits<JsonRecord>> {
  if (s.data !== undefined) return limitRows(splitRows(await readRecords(s.data), s), s.maxRows);
  const files = filesBySplit(s);
  const out: Splits<JsonRecord> = {};
  for (const k of SPLIT_NAMES) if (files[k] !== undefined) out[k] = await readRecords(files[k]!);
  return limitRows(out, s.maxRows);
}

export type TaskData =
  | ({ task: "seq-cls" } & ClassificationData)
  | { task: "causal-lm"; splits: Splits<JsonRecord>; columns: LmColumns };

export async function loadData(task: Task, s: DataSettings): Promise<TaskData> {
  if (task === "seq-cls") return { task, ...(await loadClassificationData(s)) };
  const columns = { textColumn: s.textColumn, promptColumn: s.promptColumn, completionColumn: s.completionColumn };
  return { task, splits: await loadLmData(s), columns };
}

function filesBySplit(s: DataSettings): { train: string; validation?: string; test?: string } {
  if (s.train === undefined) throw new UsageError("no training data: give --train (with --validation / --test) or --data");
  const files = { train: s.train, validation: s.validation, test: s.test };
  return Object.fromEntries(Object.entries(files).filter(([, f]) => f !== undefined)) as typeof files;
}

function splitRows<T>(rows: T[], s: DataSettings): Splits<T> {
  if (s.train !== undefined || s.validation !== undefined || s.test !== undefined) throw new UsageError("give either --data (split for you) or --train/--validation/--test files, not both");
  return splitDataset(rows, { validation: s.validationSplit ?? 0.1, test: s.testSplit ?? 0.1, seed: s.seed ?? 42 });
}

function limitRows<T>(splits: Splits<T>, maxRows: number | undefined): Splits<T> {
  if (maxRows === undefined) return splits;
  return Object.fromEntries(Object.entries(splits).map(([k, rows]) => [k, rows!.slice(0, maxRows)]));
}
