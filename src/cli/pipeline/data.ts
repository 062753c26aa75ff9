// Datasets from the data flags: one file per split, one file split with a seed, or a Hugging Face Hub
// dataset; classification rows ({text, textPair?, label}) or causal-LM records (conversations, {prompt, completion}
// or {text}).
import { BUNDLED_PREFIX, bundledTask, type BundledTaskData, type BundledTaskKind } from "../../bundled/index.js";
import {
  loadDataFiles, loadHubDataset, readRecords, splitDataset, type DatasetDict, type JsonRecord, type TextExample,
} from "../../data/index.js";
import type { HubOptions } from "../../io/hub.js";
import { warn } from "../../warnings/index.js";
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
  /** A hub dataset id (classification). */
  dataset?: string;
  datasetConfig?: string;
  /** Shares (0-1) or row counts carved out of --data, or out of a hub dataset's train split when it lacks the split. */
  validationSplit?: number;
  testSplit?: number;
  textColumn?: string;
  textPairColumn?: string;
  labelColumn?: string;
  labelNames?: string[];
  promptColumn?: string;
  completionColumn?: string;
  /** Causal-LM: loss on prompts and every conversation turn too. */
  trainOnPrompt?: boolean;
  /** At most N rows per split: a sample drawn with `seed`, since files are often sorted by label. */
  maxRows?: number;
  /** The longest line / record / row of a data file, in characters. */
  maxRecordChars?: number;
  seed?: number;
}

export type Splits<T> = Partial<DatasetDict<T[]>>;

export interface ClassificationData {
  splits: Splits<TextExample>;
  labels: LabelSpec;
}

export type TaskData =
  | ({ task: "seq-cls" } & ClassificationData)
  | { task: "causal-lm"; splits: Splits<JsonRecord>; columns: LmColumns };

export const SPLIT_NAMES = ["train", "validation", "test"] as const;
const DEFAULT_SEED = 42;

export async function loadData(task: Task, s: DataSettings, hub: HubOptions): Promise<TaskData> {
  if (task === "seq-cls") return { task, ...(await loadClassificationData(s, hub)) };
  const columns = { textColumn: s.textColumn, promptColumn: s.promptColumn, completionColumn: s.completionColumn, trainOnPrompt: s.trainOnPrompt };
  if (s.dataset?.startsWith(BUNDLED_PREFIX)) {
    const { train, validation, test } = bundled(s, "causal-lm");
    return { task, splits: sampleRows<JsonRecord>({ train, validation, test }, s), columns };
  }
  if (s.dataset !== undefined) throw new UsageError("--dataset loads classification datasets (and the bundled instruction tasks); for causal-lm give --train (and --validation / --test) files");
  return { task, splits: await loadLmData(s), columns };
}

export async function loadClassificationData(s: DataSettings, hub: HubOptions): Promise<ClassificationData> {
  const twice = s.labelNames?.find((n, i) => s.labelNames!.indexOf(n) !== i);
  if (twice !== undefined) throw new UsageError(`--label-names: "${twice}" is given twice; each class needs its own name`);
  const opts = { textColumn: s.textColumn, textPairColumn: s.textPairColumn, labelColumn: s.labelColumn, labelNames: s.labelNames, maxRecordChars: s.maxRecordChars };
  let splits: Splits<TextExample>, names: string[];
  // Classes the user or the dataset declares may legitimately lack training rows; inferred ones may not.
  let declared = s.labelNames !== undefined;
  if (s.dataset?.startsWith(BUNDLED_PREFIX)) {
    const task = bundled(s, "seq-cls");
    splits = { train: task.train, validation: task.validation, test: task.test };
    names = task.labelNames;
    declared = true;
  } else if (s.dataset !== undefined) {
    exclusive("--dataset", [s.data, s.train, s.validation, s.test]);
    const loaded = await loadHubDataset(s.dataset, { ...opts, cacheDir: hub.cacheDir, config: s.datasetConfig });
    splits = carveMissing(Object.fromEntries(SPLIT_NAMES.filter((k) => loaded[k]).map((k) => [k, loaded[k]!.rows])), s);
    names = loaded.labelNames;
    declared = true;
  } else if (s.data !== undefined) {
    exclusive("--data", [s.train, s.validation, s.test]);
    const loaded = await loadDataFiles(s.data, opts);
    splits = splitDataset(loaded.rows, { validation: s.validationSplit ?? 0.1, test: s.testSplit ?? 0.1, seed: s.seed ?? DEFAULT_SEED });
    names = loaded.labelNames;
  } else {
    const files = filesBySplit(s);
    const loaded = await loadDataFiles(files, opts);
    splits = Object.fromEntries(SPLIT_NAMES.filter((k) => files[k] !== undefined).map((k) => [k, loaded[k]!.rows]));
    names = loaded.train.labelNames;
  }
  if (names.length < 2) throw new UsageError(`the data has ${names.length} label (${names.join(", ")}); classification needs at least two (set --label-names)`);
  // Integer labels without names stay anonymous, so a model's own names (e.g. NEGATIVE/POSITIVE) survive.
  const named = s.labelNames !== undefined || names.some((n, i) => n !== String(i));
  const sampled = nonEmpty(sampleRows(splits, s), s);
  checkTrainedClasses(sampled, names, declared, s);
  return { splits: sampled, labels: { names, named } };
}

/** A class without training rows gets a head row that never learns: refused when the data only seems to have it (a
 *  label seen only in validation or test, integer labels with gaps such as one 999999), a warning when declared. */
function checkTrainedClasses(splits: Splits<TextExample>, names: string[], declared: boolean, s: DataSettings): void {
  const seen = new Set(splits.train!.map((r) => r.label));
  const untrained = names.map((_, i) => i).filter((i) => !seen.has(i));
  if (untrained.length === 0) return;
  const list = (ids: number[]) => ids.slice(0, 5).map((i) => JSON.stringify(names[i])).join(", ") + (ids.length > 5 ? ` and ${ids.length - 5} more` : "");
  for (const split of ["validation", "test"] as const) {
    const rows = splits[split] ?? [];
    const only = untrained.filter((i) => rows.some((r) => r.label === i));
    if (only.length) {
      const where = s[split] ?? s.data ?? s.dataset ?? split;
      throw new UsageError(`label ${list(only)} occurs in the ${split} data (${where}) but not in the training data, so the model could not learn it; ` +
        "add training rows for it, or remove those rows");
    }
  }
  const from = s.train ?? s.data ?? s.dataset ?? "the training data";
  if (!declared) {
    throw new UsageError(`${from}: the labels imply ${names.length} classes but ${list(untrained)} never occur (integer labels are class ids 0..max); ` +
      "renumber the labels, or give the classes with --label-names");
  }
  warn(`class ${list(untrained)} has no training rows${s.maxRows !== undefined ? ` after --max-rows ${s.maxRows}` : ""}; the model will not learn to predict it`, "FINETUNE_LABELS");
}

/** One file scored against a trained model: labels map through the model's names (or index them). */
export async function loadClassificationFile(file: string, s: DataSettings, labelNames: string[]): Promise<TextExample[]> {
  if (file.startsWith(BUNDLED_PREFIX)) {
    const task = bundledTaskOf(file, "seq-cls");
    return sample(task.test.map((r) => {
      const label = labelNames.indexOf(task.labelNames[r.label]!);
      if (label < 0) throw new UsageError(`${file}: its label ${task.labelNames[r.label]} is not one of the model's (${labelNames.join(", ")})`);
      return { text: r.text, label };
    }), s);
  }
  const loaded = await loadDataFiles(file, { textColumn: s.textColumn, textPairColumn: s.textPairColumn, labelColumn: s.labelColumn, labelNames, maxRecordChars: s.maxRecordChars });
  return sample(loaded.rows, s);
}

/** One causal-LM file to score, sampled like a training run's splits; bundled:<task> is a bundled task's test split. */
export async function loadLmFile(file: string, s: DataSettings): Promise<JsonRecord[]> {
  return sample(file.startsWith(BUNDLED_PREFIX) ? bundledTaskOf(file, "causal-lm").test : await readRecords(file, { maxRecordChars: s.maxRecordChars }), s);
}

export async function loadLmData(s: DataSettings): Promise<Splits<JsonRecord>> {
  if (s.data !== undefined) {
    exclusive("--data", [s.train, s.validation, s.test]);
    return nonEmpty(sampleRows(splitDataset(await readRecords(s.data, { maxRecordChars: s.maxRecordChars }), { validation: s.validationSplit ?? 0.1, test: s.testSplit ?? 0.1, seed: s.seed ?? DEFAULT_SEED }), s), s);
  }
  const files = filesBySplit(s);
  const out: Splits<JsonRecord> = {};
  for (const k of SPLIT_NAMES) if (files[k] !== undefined) out[k] = await readRecords(files[k]!, { maxRecordChars: s.maxRecordChars });
  return nonEmpty(sampleRows(out, s), s);
}

/** A split without rows would fail later as "DataLoader: no examples", naming nothing. */
function nonEmpty<T>(splits: Splits<T>, s: DataSettings): Splits<T> {
  for (const k of SPLIT_NAMES) {
    if (splits[k]?.length !== 0) continue;
    if (s[k] !== undefined) throw new UsageError(`${s[k]}: no rows (an empty file, or every row skipped)`);
    const from = s.data ?? s.dataset ?? "the data";
    throw new UsageError(`the ${k} split of ${from} has no rows; give more data or a larger --${k === "train" ? "data" : `${k}-split`}`);
  }
  return splits;
}

/** "800 train / 100 validation / 100 test rows" */
export function describeSplits(splits: Splits<unknown>): string {
  return `${SPLIT_NAMES.filter((k) => splits[k]).map((k) => `${splits[k]!.length} ${k}`).join(" / ")} rows`;
}

function filesBySplit(s: DataSettings): { train: string; validation?: string; test?: string } {
  if (s.train === undefined) throw new UsageError("no training data: give --train (with --validation / --test), --data or --dataset");
  const files = { train: s.train, validation: s.validation, test: s.test };
  return Object.fromEntries(Object.entries(files).filter(([, f]) => f !== undefined)) as typeof files;
}

/** The bundled task --dataset names, of the kind the model trains for. */
function bundled<K extends BundledTaskKind>(s: DataSettings, kind: K): Extract<BundledTaskData, { task: K }> {
  exclusive("--dataset", [s.data, s.train, s.validation, s.test]);
  return bundledTaskOf(s.dataset!, kind);
}

function bundledTaskOf<K extends BundledTaskKind>(id: string, kind: K): Extract<BundledTaskData, { task: K }> {
  try {
    return bundledTask(id, kind);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function exclusive(flag: string, others: (string | undefined)[]): void {
  if (others.some((o) => o !== undefined)) throw new UsageError(`give ${flag} or ${flag === "--dataset" ? "--data or " : ""}--train/--validation/--test files, not both`);
}

/** A hub dataset without a validation or test split gets one from its train split when asked. */
function carveMissing(splits: Splits<TextExample>, s: DataSettings): Splits<TextExample> {
  const validation = splits.validation ? 0 : (s.validationSplit ?? 0);
  const test = splits.test ? 0 : (s.testSplit ?? 0);
  if (validation + test === 0) return splits;
  const carved = splitDataset(splits.train!, { validation, test, seed: s.seed ?? DEFAULT_SEED });
  return { ...splits, ...carved };
}

function sampleRows<T>(splits: Splits<T>, s: DataSettings): Splits<T> {
  return Object.fromEntries(Object.entries(splits).map(([k, rows]) => [k, sample(rows!, s)]));
}

function sample<T>(rows: T[], s: DataSettings): T[] {
  if (s.maxRows === undefined || rows.length <= s.maxRows) return rows;
  return splitDataset(rows, { test: s.maxRows, seed: s.seed ?? DEFAULT_SEED }).test!;
}
