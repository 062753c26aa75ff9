import { createReadStream } from "node:fs";

/** The file's text in chunks, decoded as UTF-8 without splitting a character, BOM removed. */
export async function* readTextChunks(file: string): AsyncGenerator<string> {
  let first = true;
  for await (const chunk of createReadStream(file, { encoding: "utf8" }) as AsyncIterable<string>) {
    yield first && chunk.startsWith("\uFEFF") ? chunk.slice(1) : chunk;
    first = false;
  }
}

/**
 * Lines split on "\n" only (a trailing "\r" is dropped): UCI's imdb file has U+0085 inside
 * sentences, which readline-style splitters would treat as a break. Line numbers are 1-based.
 * Lines come in batches, one per chunk read, to keep per-line promise overhead out of big files.
 */
export async function* readLines(file: string): AsyncGenerator<{ text: string; line: number }[]> {
  let rest = "";
  let line = 0;
  const entry = (text: string) => ({ text: text.endsWith("\r") ? text.slice(0, -1) : text, line: ++line });
  for await (const chunk of readTextChunks(file)) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    yield parts.map(entry);
  }
  if (rest !== "") yield [entry(rest)];
}
