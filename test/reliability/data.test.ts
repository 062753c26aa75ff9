// Checklist item 6: dataset rows with bad JSON, missing columns, unknown labels, empty text, in every text format
// (JSONL, JSON, CSV, TSV), fail with file:line (file:record N for JSON arrays), or are counted with skipInvalid.
// Also: a label that would imply billions of classes, binary garbage, and a broken parquet file.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadDataFiles } from "../../src/data/load.js";
import { assertNamesFile, rejection, tempDir, within } from "./helpers/common.js";

let dir = "";
let cleanup = async () => {};
before(async () => ({ dir, cleanup } = await tempDir("data")));
after(() => cleanup());

async function file(name: string, text: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function fails(path: string, where: string, pattern: RegExp, opts: Parameters<typeof loadDataFiles>[1] = {}): Promise<void> {
  const err = await within(10_000, `loading ${path}`, rejection(loadDataFiles(path, opts)));
  assertNamesFile(err, where, pattern);
}

test("each text format: bad records fail at file:line, naming the problem", async () => {
  const good = { text: "fine", label: 0 };
  const jsonl = (rows: unknown[]) => rows.map((r) => (typeof r === "string" ? r : JSON.stringify(r))).join("\n");
  await fails(await file("a.jsonl", jsonl([good, '{"text": "cut', good])), "a.jsonl:2", /invalid JSON/);
  await fails(await file("b.jsonl", jsonl([good, good, { label: 1 }])), "b.jsonl:3", /missing column "text"/);
  await fails(await file("c.jsonl", jsonl([good, { text: "", label: 1 }])), "c.jsonl:2", /empty text in column "text"/);
  await fails(await file("d.jsonl", jsonl([good, { text: "no label" }])), "d.jsonl:2", /missing column "label"/);
  await fails(await file("e.jsonl", jsonl([good, { text: "x", label: 5 }])), "e.jsonl:2", /unknown label 5 \(labels: neg, pos\)/, { labelNames: ["neg", "pos"] });

  await fails(await file("a.json", JSON.stringify([good, { text: "x" }])), "a.json:record 2", /missing column "label"/);
  await fails(await file("b.json", JSON.stringify([good, { text: "   ", label: 0 }])), "b.json:record 2", /empty text/);
  await fails(await file("c.json", '[{"text": "a", "label": 0}, {"text": '), "c.json", /invalid JSON|not valid JSON|JSON/);

  await fails(await file("a.csv", "text,label\nfine,0\n,1\n"), "a.csv:3", /empty text in column "text"|missing column "text"/);
  await fails(await file("b.csv", "text,label\nfine,0\nbad,neutral\n"), "b.csv:3", /unknown label "neutral" \(labels: neg, pos\)/, { labelNames: ["neg", "pos"] });
  await fails(await file("c.csv", "sentence,label\nfine,0\n"), "c.csv:2", /missing column "text"/);
  await fails(await file("d.csv", 'text,label\nfine,0\n"open quote,1\nmore,0\n'), "d.csv:3", /unterminated quoted field/);

  await fails(await file("a.tsv", "text\tlabel\nfine\t0\nsecond\t1\textra\n"), "a.tsv:3", /expected 2 fields, found 3/);
  await fails(await file("b.tsv", "text\tlabel\nfine\t0\nx\t1.5\n"), "b.tsv:3", /label "1\.5" is not an integer or a class name/);

  const skipped = await loadDataFiles(await file("mixed.jsonl", jsonl([good, '{"bad', { text: "" , label: 0 }, { text: "ok", label: 1 }])), { skipInvalid: true });
  assert.equal(skipped.skipped, 2);
  assert.equal(skipped.rows.length, 2);
});

test("an integer label that would make billions of classes is refused at its line, not allocated", async () => {
  const rows = [{ text: "a", label: 0 }, { text: "b", label: 1 }, { text: "c", label: 9_999_999_999 }].map((r) => JSON.stringify(r)).join("\n");
  const before = process.memoryUsage().heapUsed;
  await fails(await file("huge-label.jsonl", rows), "huge-label.jsonl:3", /label 9999999999 would make 10000000000 classes/);
  assert.ok(process.memoryUsage().heapUsed - before < 64 << 20);
  await fails(await file("huge-label.csv", "text,label\na,0\nb,4294967296\n"), "huge-label.csv:3", /would make 4294967297 classes/);
});

test("binary garbage and a fake parquet file fail with the file name", async () => {
  const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 151 + 7) % 256));
  await fails(await file("garbage.jsonl", garbage), "garbage.jsonl:", /invalid JSON|expected a JSON object/);
  await fails(await file("garbage.parquet", garbage), "garbage.parquet", /not a valid Parquet file/);
  await fails(await file("garbage.json", garbage), "garbage.json", /JSON/);
});
