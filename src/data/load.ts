// Classification datasets from local files: text (+ optional pair) and an integer label per row.
// Labels are read in a first pass over every split so that string labels get one shared mapping.
import { streamRecords, type JsonRecord } from "./records.js";
import type { ColumnRef, DatasetDict, ReadOptions, SplitName, TextExample } from "./types.js";

export interface LoadOptions extends ReadOptions {
  /** Default "text". */
  textColumn?: ColumnRef;
  textPairColumn?: ColumnRef;
  /** Default "label". */
  labelColumn?: ColumnRef;
  /**
   * Names of the classes in id order. String labels map through it; integer labels must index it.
   * Without it, integer labels are used as they are (names "0", "1", ...), and string labels are
   * collected over all splits and sorted (as HF's ClassLabel does) to give the ids.
   */
  labelNames?: string[];
}

export interface LoadedSplit {
  rows: TextExample[];
  /** Rows dropped by skipInvalid. */
  skipped: number;
  labelNames: string[];
}

export type DataFiles = string | string[];
export type DataFilesBySplit = DatasetDict<DataFiles>;

interface RawRow {
  text: string;
  textPair?: string;
  label: number | string;
  where: string;
}

const SPLITS: SplitName[] = ["train", "validation", "test"];

export async function loadDataFiles(files: DataFiles, opts?: LoadOptions): Promise<LoadedSplit>;
export async function loadDataFiles(files: DataFilesBySplit, opts?: LoadOptions): Promise<DatasetDict<LoadedSplit>>;
export async function loadDataFiles(
  files: DataFiles | DataFilesBySplit,
  opts: LoadOptions = {},
): Promise<LoadedSplit | DatasetDict<LoadedSplit>> {
  const bySplit: DataFilesBySplit = typeof files === "string" || Array.isArray(files) ? { train: files } : files;
  const raw: Partial<Record<SplitName, { rows: RawRow[]; skipped: number }>> = {};
  for (const split of SPLITS) {
    const list = bySplit[split];
    if (list !== undefined) raw[split] = await readSplit(typeof list === "string" ? [list] : list, opts);
  }
  const { names, byName } = opts.labelNames
    ? { names: opts.labelNames, byName: false }
    : inferLabelNames(Object.values(raw).flatMap((s) => s.rows));
  const loaded: Partial<DatasetDict<LoadedSplit>> = {};
  for (const split of SPLITS) {
    const r = raw[split];
    if (r !== undefined) loaded[split] = toExamples(r.rows, r.skipped, names, byName, opts.skipInvalid);
  }
  return typeof files === "string" || Array.isArray(files) ? loaded.train! : (loaded as DatasetDict<LoadedSplit>);
}

async function readSplit(files: string[], opts: LoadOptions): Promise<{ rows: RawRow[]; skipped: number }> {
  const rows: RawRow[] = [];
  let skipped = 0;
  const reject = (where: string, reason: string) => {
    if (!opts.skipInvalid) throw new Error(`${where}: ${reason}`);
    skipped++;
  };
  for (const file of files) {
    let columns: string[] | undefined;
    for await (const item of streamRecords(file, opts, (c) => (columns = c))) {
      if ("error" in item) {
        reject(item.where, item.error);
        continue;
      }
      const row = rawRow(item.record, columns, opts);
      if (typeof row === "string") reject(item.where, row);
      else rows.push({ ...row, where: item.where });
    }
  }
  return { rows, skipped };
}

/** The row's fields, or the reason it is invalid. */
function rawRow(record: JsonRecord, columns: string[] | undefined, opts: LoadOptions): Omit<RawRow, "where"> | string {
  const column = (ref: ColumnRef) => {
    const name = typeof ref === "number" ? (columns?.[ref] ?? String(ref)) : ref;
    return { name: JSON.stringify(name), value: record[name] };
  };
  const text = textIn(column(opts.textColumn ?? "text"));
  if ("error" in text) return text.error;
  const pair = opts.textPairColumn === undefined ? undefined : textIn(column(opts.textPairColumn));
  if (pair !== undefined && "error" in pair) return pair.error;
  const { name, value } = column(opts.labelColumn ?? "label");
  if (value === undefined || value === null) return `missing column ${name}`;
  let label: number | string;
  if (typeof value === "number" && Number.isInteger(value)) label = value;
  else if (typeof value === "string" && value.trim() !== "" && !isNonIntegerNumber(value.trim())) label = value.trim();
  else return `label ${JSON.stringify(value)} is not an integer or a class name`;
  return pair === undefined ? { text: text.value, label } : { text: text.value, textPair: pair.value, label };
}

function textIn({ name, value }: { name: string; value: unknown }): { value: string } | { error: string } {
  if (value === undefined || value === null) return { error: `missing column ${name}` };
  if (typeof value !== "string") return { error: `column ${name} is a ${typeof value}, not text` };
  if (value.trim() === "") return { error: `empty text in column ${name}` };
  return { value };
}

const INTEGER = /^[+-]?\d+$/;
const isNonIntegerNumber = (s: string) => !INTEGER.test(s) && Number.isFinite(Number(s));
const isInteger = (label: number | string) => typeof label === "number" || INTEGER.test(label);

/** More classes than this from integer labels is a corrupt file (or ids, not classes), not a label set to allocate. */
const MAX_INFERRED_CLASSES = 1_000_000;

/** Integer labels give names "0".."max"; any class-name label makes every label a name, sorted. */
function inferLabelNames(rows: RawRow[]): { names: string[]; byName: boolean } {
  if (rows.every((r) => isInteger(r.label))) {
    const max = rows.reduce((m, r) => Math.max(m, Number(r.label)), -1);
    if (max >= MAX_INFERRED_CLASSES) {
      const row = rows.find((r) => Number(r.label) === max)!;
      throw new Error(`${row.where}: label ${row.label} would make ${max + 1} classes (integer labels are class indices 0..max); ` +
        "pass the label names (labelNames / --label-names) or fix the row");
    }
    return { names: Array.from({ length: max + 1 }, (_, i) => String(i)), byName: false };
  }
  return { names: [...new Set(rows.map((r) => String(r.label)))].sort(), byName: true };
}

/**
 * The label id: with user labelNames a string is looked up by name first, and an integer is an index;
 * with inferred class names only names count.
 */
function labelId(label: number | string, ids: Map<string, number>, onlyNames: boolean): number | undefined {
  if (onlyNames) return ids.get(String(label));
  if (typeof label === "string" && ids.has(label)) return ids.get(label);
  return isInteger(label) ? Number(label) : undefined;
}

function toExamples(rows: RawRow[], skipped: number, labelNames: string[], onlyNames: boolean, skipInvalid?: boolean): LoadedSplit {
  const ids = new Map(labelNames.map((name, i) => [name, i]));
  const out: TextExample[] = [];
  for (const row of rows) {
    const label = labelId(row.label, ids, onlyNames);
    if (label === undefined || label < 0 || label >= labelNames.length) {
      const reason = `unknown label ${JSON.stringify(row.label)} (labels: ${labelNames.join(", ")})`;
      if (!skipInvalid) throw new Error(`${row.where}: ${reason}`);
      skipped++;
      continue;
    }
    out.push(row.textPair === undefined ? { text: row.text, label } : { text: row.text, textPair: row.textPair, label });
  }
  return { rows: out, skipped, labelNames };
}
