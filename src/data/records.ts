// Row-level readers for every supported format, with a location for each record so that errors can
// point at the exact place: `file:17` (physical line, for JSONL and CSV/TSV the line a record starts
// on), `file:record 17` (JSON array element), `file:row 17` (parquet row).
import { readFile, stat } from "node:fs/promises";
import { extname } from "node:path";
import { readDelimited } from "./delimited.js";
import { MAX_RECORD_CHARS, readLines, recordTooLong } from "./line-reader.js";
import { readParquet } from "./parquet.js";
import type { DataFormat, ReadOptions } from "./types.js";

export type JsonRecord = Record<string, unknown>;

/** A record, or why it could not be read; `where` is "file:line" style. */
export type RecordItem = { where: string; record: JsonRecord } | { where: string; error: string };

const EXTENSIONS: Record<string, DataFormat> = {
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".json": "json",
  ".csv": "csv",
  ".tsv": "tsv",
  ".tab": "tsv",
  ".parquet": "parquet",
};

export function formatOf(file: string, format?: DataFormat): DataFormat {
  if (format !== undefined) return format;
  const byExtension = EXTENSIONS[extname(file).toLowerCase()];
  if (byExtension === undefined) {
    throw new Error(`${file}: cannot tell the format from the extension; pass format: "jsonl" | "json" | "csv" | "tsv" | "parquet"`);
  }
  return byExtension;
}

/**
 * The records of one file, streamed (JSON files are parsed whole). `onColumns` gets the header or
 * schema order where the format has one, which is what numeric column references index.
 */
export async function* streamRecords(
  file: string,
  opts: ReadOptions = {},
  onColumns?: (columns: string[]) => void,
): AsyncGenerator<RecordItem> {
  const format = formatOf(file, opts.format);
  if (!(await stat(file).catch(() => undefined))?.isFile()) throw new Error(`${file}: file not found`);
  switch (format) {
    case "jsonl":
      for await (const lines of readLines(file, opts.maxRecordChars)) {
        for (const { text, line } of lines) if (text.trim() !== "") yield jsonRecord(text, `${file}:${line}`);
      }
      return;
    case "json":
      yield* jsonArrayRecords(file, opts.maxRecordChars ?? MAX_RECORD_CHARS);
      return;
    case "csv":
    case "tsv":
      yield* delimitedRecords(file, format, opts, onColumns);
      return;
    case "parquet":
      for await (const { columns, rows, firstRow } of readParquet(file)) {
        onColumns?.(columns);
        for (const [i, record] of rows.entries()) {
          // A page bounds a row's bytes (src/data/parquet.ts); the record limit holds for Parquet rows too.
          const limit = opts.maxRecordChars ?? MAX_RECORD_CHARS;
          if (recordChars(record) > limit) throw recordTooLong(file, `row ${firstRow + i + 1}`, limit);
          yield { where: `${file}:row ${firstRow + i + 1}`, record };
        }
      }
      return;
  }
}

/** Where each record readRecords returned came from, so later stages (shuffled, sampled, tokenized) can still
 *  name its line. Kept beside the records, not in them, so a record's columns are only what the file holds. */
const sources = new WeakMap<object, string>();

/** "file:line" (or "file:record N", "file:row N") of a record from readRecords. */
export function recordSource(record: object): string | undefined {
  return sources.get(record);
}

/** All records of a file; the first unreadable one throws `file:line: reason` unless skipInvalid. */
export async function readRecords(file: string, opts: ReadOptions = {}): Promise<JsonRecord[]> {
  const out: JsonRecord[] = [];
  for await (const item of streamRecords(file, opts)) {
    if ("record" in item) {
      sources.set(item.record, item.where);
      out.push(item.record);
    }
    else if (!opts.skipInvalid) throw new Error(`${item.where}: ${item.error}`);
  }
  return out;
}

function jsonRecord(text: string, where: string): RecordItem {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { where, error: `invalid JSON: ${(e as Error).message}` };
  }
  return isRecord(value) ? { where, record: value } : { where, error: "expected a JSON object" };
}

/** The characters of a record's strings (what tokenizing it reads). */
function recordChars(record: JsonRecord): number {
  let n = 0;
  for (const v of Object.values(record)) {
    if (typeof v === "string") n += v.length;
    else if (Array.isArray(v) || isRecord(v)) n += JSON.stringify(v, (_, x: unknown) => (typeof x === "bigint" ? String(x) : x)).length;
  }
  return n;
}

const isRecord = (v: unknown): v is JsonRecord => typeof v === "object" && v !== null && !Array.isArray(v);

/** A JSON array of objects, or HF's `{"data": [...]}` layout. */
async function* jsonArrayRecords(file: string, maxChars: number): AsyncGenerator<RecordItem> {
  // Parsed whole: its size is bounded like one record (JSONL streams instead).
  const { size } = await stat(file);
  if (size > maxChars) throw new Error(`${file}: a JSON file of ${size} bytes is read whole, and the limit is ${maxChars} (maxRecordChars); use JSON Lines for large data`);
  let doc: unknown;
  try {
    doc = JSON.parse((await readFile(file, "utf8")).replace(/^\uFEFF/, ""));
  } catch (e) {
    throw new Error(`${file}: invalid JSON: ${(e as Error).message}`);
  }
  const rows = Array.isArray(doc) ? doc : isRecord(doc) && Array.isArray(doc.data) ? doc.data : undefined;
  if (rows === undefined) throw new Error(`${file}: expected a JSON array of records or {"data": [...]}`);
  for (const [i, value] of rows.entries()) {
    const where = `${file}:record ${i + 1}`;
    yield isRecord(value) ? { where, record: value } : { where, error: "expected a JSON object" };
  }
}

async function* delimitedRecords(
  file: string,
  format: "csv" | "tsv",
  opts: ReadOptions,
  onColumns?: (columns: string[]) => void,
): AsyncGenerator<RecordItem> {
  const delimiter = opts.delimiter ?? (format === "csv" ? "," : "\t");
  const quote = opts.quote === undefined ? '"' : opts.quote;
  const hasHeader = opts.hasHeader ?? true;
  let columns = hasHeader ? undefined : opts.columnNames;
  if (columns) onColumns?.(columns);
  for await (const item of readDelimited(file, delimiter, quote, opts.maxRecordChars)) {
    const where = `${file}:${item.line}`;
    if ("error" in item) {
      if (columns === undefined) throw new Error(`${where}: unreadable header: ${item.error}`);
      yield { where, error: item.error };
      continue;
    }
    if (columns === undefined) {
      if (hasHeader) {
        const seen = new Set<string>();
        for (const name of item.fields) {
          if (seen.has(name)) throw new Error(`${where}: duplicate column ${JSON.stringify(name)} in the header`);
          seen.add(name);
        }
        columns = item.fields;
        onColumns?.(columns);
        continue;
      }
      columns = item.fields.map((_, i) => String(i));
      onColumns?.(columns);
    }
    if (item.fields.length !== columns.length) {
      yield { where, error: `expected ${columns.length} fields, found ${item.fields.length}` };
      continue;
    }
    yield { where, record: Object.fromEntries(columns.map((name, i) => [name, item.fields[i]])) };
  }
}
