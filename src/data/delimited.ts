// An incremental RFC-4180 parser for CSV/TSV: quoted fields may hold delimiters, doubled quotes and
// line breaks; records end at "\n" or "\r\n". Like Python's csv module, a quote that does not open a
// field is kept as text (RFC 4180 would reject it, and real files are full of them).
import { MAX_RECORD_CHARS, readTextChunks, recordTooLong } from "./line-reader.js";

/** A record's fields, or why it is unreadable; `line` is the physical line where the record starts. */
export type DelimitedRecord = { line: number; fields: string[] } | { line: number; error: string };

type State = "fieldStart" | "unquoted" | "quoted" | "quoteInQuoted";

export class DelimitedParser {
  private state: State = "fieldStart";
  private field = "";
  private fields: string[] = [];
  private line = 1;
  private recordLine = 1;
  /** Characters of the record being read (bounded by maxRecordChars). */
  private recordChars = 0;
  private error: string | undefined;
  /** A "\r" outside quotes whose meaning depends on the next character (maybe in the next chunk). */
  private pendingCr = false;
  private out: DelimitedRecord[] = [];

  constructor(
    private readonly delimiter: string,
    private readonly quote: string | null,
    private readonly maxRecordChars = MAX_RECORD_CHARS,
  ) {
    if (delimiter.length !== 1 || (quote !== null && quote.length !== 1) || delimiter === quote) {
      throw new Error(`delimiter and quote must be two different single characters`);
    }
  }

  /** Feeds the next chunk of text; returns the records it completed. */
  push(chunk: string): DelimitedRecord[] {
    let i = 0;
    while (i < chunk.length) {
      // A run of ordinary characters is appended in one piece: one at a time builds a string node per character
      // (over 1 GB for a 32 MB field).
      const end = this.pendingCr ? i : this.runEnd(chunk, i);
      if (end > i) {
        const run = chunk.slice(i, end);
        this.field += run;
        if (this.state === "quoted") this.line += run.split("\n").length - 1;
        else this.state = "unquoted";
        this.recordChars += run.length;
        i = end;
      } else {
        this.step(chunk[i++]!);
        this.recordChars++;
      }
      if (this.recordChars > this.maxRecordChars) throw new RangeError(`record at line ${this.recordLine} is too long`);
    }
    return this.take();
  }

  /** Where the run of characters that `step` would only append ends (the next quote, delimiter or line break). */
  private runEnd(chunk: string, from: number): number {
    if (this.state === "quoteInQuoted") return from;
    if (this.state === "fieldStart" && chunk[from] === this.quote) return from;
    let i = from;
    if (this.state === "quoted") {
      while (i < chunk.length && chunk[i] !== this.quote) i++;
    } else {
      while (i < chunk.length && chunk[i] !== this.delimiter && chunk[i] !== "\n" && chunk[i] !== "\r") i++;
    }
    return i;
  }

  /** The line where the record being read starts. */
  get currentRecordLine(): number {
    return this.recordLine;
  }

  /** Where the record with a still-open quoted field starts, if there is one. */
  get openQuoteLine(): number | undefined {
    return this.state === "quoted" ? this.recordLine : undefined;
  }

  /** Ends the input (with an open quote the last record just takes the rest of the file). */
  end(): DelimitedRecord[] {
    if (this.pendingCr) {
      this.pendingCr = false;
      this.endRecord();
    } else if (this.state !== "fieldStart" || this.fields.length > 0) {
      this.endRecord();
    }
    return this.take();
  }

  private take(): DelimitedRecord[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private step(c: string): void {
    if (this.pendingCr) {
      this.pendingCr = false;
      if (c === "\n") {
        this.endRecord();
        this.line++;
        return;
      }
      if (this.state === "quoteInQuoted") this.error ??= `unexpected "\\r" after the closing quote of field ${this.fields.length + 1}`;
      this.field += "\r";
      this.state = "unquoted";
    }
    switch (this.state) {
      case "quoted":
        if (c === this.quote) this.state = "quoteInQuoted";
        else {
          this.field += c;
          if (c === "\n") this.line++;
        }
        return;
      case "quoteInQuoted":
        if (c === this.quote) {
          this.field += c;
          this.state = "quoted";
          return;
        }
        if (c !== this.delimiter && c !== "\n" && c !== "\r") {
          this.error ??= `unexpected ${JSON.stringify(c)} after the closing quote of field ${this.fields.length + 1}`;
          this.field += c;
          this.state = "unquoted";
          return;
        }
        break;
      case "fieldStart":
        if (c === this.quote) {
          this.state = "quoted";
          return;
        }
        break;
      case "unquoted":
        break;
    }
    if (c === this.delimiter) {
      this.fields.push(this.field);
      this.field = "";
      this.state = "fieldStart";
    } else if (c === "\n") {
      this.endRecord();
      this.line++;
    } else if (c === "\r") {
      this.pendingCr = true;
    } else {
      this.field += c;
      this.state = "unquoted";
    }
  }

  private endRecord(): void {
    const blank = this.fields.length === 0 && this.field === "" && this.state === "fieldStart";
    this.fields.push(this.field);
    if (!blank) {
      this.out.push(
        this.error === undefined ? { line: this.recordLine, fields: this.fields } : { line: this.recordLine, error: this.error },
      );
    }
    this.fields = [];
    this.field = "";
    this.error = undefined;
    this.state = "fieldStart";
    this.recordLine = this.line + 1;
    this.recordChars = 0;
  }
}

export async function* readDelimited(
  file: string, delimiter: string, quote: string | null, maxRecordChars = MAX_RECORD_CHARS,
): AsyncGenerator<DelimitedRecord> {
  const parser = new DelimitedParser(delimiter, quote, maxRecordChars);
  for await (const chunk of readTextChunks(file)) {
    let records: DelimitedRecord[];
    try {
      records = parser.push(chunk);
    } catch (e) {
      if (e instanceof RangeError) throw recordTooLong(file, parser.currentRecordLine, maxRecordChars);
      throw e;
    }
    yield* records;
  }
  // Not skippable: the open quote swallowed every record after it.
  if (parser.openQuoteLine !== undefined) throw new Error(`${file}:${parser.openQuoteLine}: unterminated quoted field`);
  yield* parser.end();
}
