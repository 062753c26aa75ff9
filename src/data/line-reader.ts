import { createReadStream } from "node:fs";

/** The file's text in chunks, decoded as UTF-8 without splitting a character, BOM removed. */
export async function* readTextChunks(file: string): AsyncGenerator<string> {
  let first = true;
  for await (const chunk of createReadStream(file, { encoding: "utf8" }) as AsyncIterable<string>) {
    yield first && chunk.startsWith("\uFEFF") ? chunk.slice(1) : chunk;
    first = false;
  }
}

/** The longest line or record the readers accept by default (ReadOptions.maxRecordChars raises it): one record is
 *  held whole in memory, and a file without line breaks would otherwise be read whole into one string. */
export const MAX_RECORD_CHARS = 32 << 20;

export function recordTooLong(file: string, line: number | string, limit: number): Error {
  return new Error(`${file}:${line}: a record longer than ${limit} characters (the limit; raise it with --max-record-chars, or maxRecordChars, if this is intended)`);
}

/**
 * Lines split on "\n" only (a trailing "\r" is dropped): UCI's imdb file has U+0085 inside
 * sentences, which readline-style splitters would treat as a break. Line numbers are 1-based.
 * Lines come in batches, one per chunk read, to keep per-line promise overhead out of big files.
 */
export async function* readLines(file: string, maxChars = MAX_RECORD_CHARS): AsyncGenerator<{ text: string; line: number }[]> {
  // The unfinished line is kept as a list of pieces, so a long one costs one join rather than one copy per chunk.
  let rest: string[] = [];
  let restLength = 0;
  let line = 0;
  const entry = (text: string) => {
    if (text.length > maxChars) throw recordTooLong(file, line + 1, maxChars);
    return { text: text.endsWith("\r") ? text.slice(0, -1) : text, line: ++line };
  };
  for await (const chunk of readTextChunks(file)) {
    const parts = chunk.split("\n");
    const last = parts.pop()!;
    if (parts.length > 0) {
      parts[0] = rest.join("") + parts[0];
      rest = [];
      restLength = 0;
    }
    rest.push(last);
    restLength += last.length;
    if (restLength > maxChars) throw recordTooLong(file, line + parts.length + 1, maxChars);
    yield parts.map(entry);
  }
  if (restLength > 0) yield [entry(rest.join(""))];
}
