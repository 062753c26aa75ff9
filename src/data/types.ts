/**
 * One raw (untokenized) classification example; `label` indexes the dataset's labelNames.
 * (collate.ts's Example is the tokenized form.)
 */
export interface TextExample {
  text: string;
  textPair?: string;
  label: number;
}

/** The splits of a dataset, like HF's DatasetDict. */
export interface DatasetDict<T> {
  train: T;
  validation?: T;
  test?: T;
}

export type SplitName = keyof DatasetDict<unknown>;

export type DataFormat = "jsonl" | "json" | "csv" | "tsv" | "parquet";

/** A column by name, or by position (header / schema order; the only way for headerless files). */
export type ColumnRef = string | number;

export interface ReadOptions {
  /** Default: from the file extension (.jsonl/.ndjson, .json, .csv, .tsv/.tab, .parquet). */
  format?: DataFormat;
  /** CSV/TSV: whether the first record names the columns (default true). */
  hasHeader?: boolean;
  /** CSV/TSV without a header: names for the columns (default "0", "1", ...). */
  columnNames?: string[];
  /** CSV/TSV field separator (default "," for csv, "\t" for tsv). */
  delimiter?: string;
  /** CSV/TSV quote character (default '"'); null reads quotes as plain text, as GLUE/UCI files need. */
  quote?: string | null;
  /** Count and drop unreadable records instead of throwing. */
  skipInvalid?: boolean;
  /** The longest line (JSONL) or record (CSV/TSV) accepted, in characters (default 32 Mi); a JSON array file may
   *  hold at most this many characters in all. A longer one is an error naming the file and line, before it is
   *  held in memory whole. */
  maxRecordChars?: number;
}
