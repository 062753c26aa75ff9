import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadDataFiles } from "../../src/data/load.js";
import type { TextExample } from "../../src/data/types.js";
import { UCI_SENTIMENT } from "../helpers/fixtures.js";
import { tinyParquet } from "./tiny-parquet.js";

const sentiment = fileURLToPath(new URL("../data/sentiment/", import.meta.url));
const scratch = await mkdtemp(join(tmpdir(), "load-data-"));
after(() => rm(scratch, { recursive: true, force: true }));

const countLabels = (rows: TextExample[]) => rows.reduce((c, r) => ((c[r.label] = (c[r.label] ?? 0) + 1), c), [] as number[]);

async function scratchFile(name: string, content: string | Buffer): Promise<string> {
  const file = join(scratch, name);
  await writeFile(file, content);
  return file;
}

test("UCI sentiment sentences: jsonl train/validation/test", async () => {
  const dir = UCI_SENTIMENT;
  const ds = await loadDataFiles({
    train: join(dir, "train.jsonl"),
    validation: join(dir, "validation.jsonl"),
    test: join(dir, "test.jsonl"),
  });
  assert.deepEqual([ds.train.rows.length, ds.validation!.rows.length, ds.test!.rows.length], [2370, 321, 309]);
  assert.deepEqual(countLabels(ds.train.rows), [1174, 1196]);
  assert.deepEqual(ds.train.labelNames, ["0", "1"]);
  assert.equal(ds.train.skipped, 0);
  assert.deepEqual(ds.train.rows[1], { text: "Good case, Excellent value.", label: 1 });
});

test("SST-2: the committed 4,000-row train sample keeps GLUE's rows and labels", async () => {
  const train = await loadDataFiles(join(sentiment, "sst2", "train-sample-4000.jsonl"));
  assert.equal(train.rows.length, 4000);
  assert.deepEqual(countLabels(train.rows), [1714, 2286]);
  assert.equal(train.rows[0]!.text, "lend some dignity to a dumb story");
});

test("SST-2 original dev.tsv (header row) matches validation.jsonl", async () => {
  const dir = join(sentiment, "sst2");
  const tsv = await loadDataFiles(join(dir, "original", "dev.tsv"), { textColumn: "sentence", quote: null });
  const jsonl = await loadDataFiles(join(dir, "validation.jsonl"));
  assert.equal(tsv.rows.length, 872);
  assert.deepEqual(
    tsv.rows.map((r) => ({ text: r.text.trim(), label: r.label })),
    jsonl.rows,
  );
});

test("UCI originals: headerless `sentence \\t label` files, by index or by given names", async () => {
  const dir = join(sentiment, "uci_sentiment_sentences", "original");
  for (const name of ["amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"]) {
    const byIndex = await loadDataFiles(join(dir, name), { format: "tsv", hasHeader: false, quote: null, textColumn: 0, labelColumn: 1 });
    assert.equal(byIndex.rows.length, 1000, name);
    assert.deepEqual(countLabels(byIndex.rows), [500, 500], name);
    const byName = await loadDataFiles(join(dir, name), {
      format: "tsv",
      hasHeader: false,
      quote: null,
      columnNames: ["sentence", "label"],
      textColumn: "sentence",
    });
    assert.deepEqual(byName.rows, byIndex.rows);
  }
  const imdb = await loadDataFiles(join(dir, "imdb_labelled.txt"), { format: "tsv", hasHeader: false, quote: null, textColumn: 0, labelColumn: 1 });
  assert.equal(imdb.rows.filter((r) => r.text.includes("\u0085")).length, 2, "U+0085 stays inside sentences");
  assert.ok(imdb.rows.some((r) => r.text.startsWith('" The structure')), "quotes are text when quote is null");
});

test("parquet files (generated) with string labels, several row groups, and a null", async () => {
  const file = await scratchFile(
    "train.parquet",
    tinyParquet(
      [
        { name: "sentence", type: "string", values: ["great film", "dull", null, "fine", "awful"] },
        { name: "premise", type: "string", values: ["a", "b", "c", "d", "e"] },
        { name: "label", type: "string", values: ["positive", "negative", "positive", "positive", "negative"] },
      ],
      2,
    ),
  );
  const opts = { textColumn: "sentence", textPairColumn: "premise" };
  await assert.rejects(loadDataFiles(file, opts), { message: `${file}:row 3: missing column "sentence"` });
  const loaded = await loadDataFiles(file, { ...opts, skipInvalid: true });
  assert.equal(loaded.skipped, 1);
  assert.deepEqual(loaded.labelNames, ["negative", "positive"]);
  assert.deepEqual(loaded.rows.map((r) => [r.text, r.textPair, r.label]), [
    ["great film", "a", 1],
    ["dull", "b", 0],
    ["fine", "d", 1],
    ["awful", "e", 0],
  ]);
  const ints = await scratchFile(
    "ints.parquet",
    tinyParquet([
      { name: "text", type: "string", values: ["x", "y"] },
      { name: "label", type: "int64", values: [2, 0] },
    ]),
  );
  assert.deepEqual((await loadDataFiles(ints)).rows, [{ text: "x", label: 2 }, { text: "y", label: 0 }]);
  await assert.rejects(loadDataFiles(await scratchFile("fake.parquet", "not parquet at all")), /fake\.parquet: not a valid Parquet file/);
});

test("bad JSONL rows: file:line errors, or counted with skipInvalid", async () => {
  const lines = [
    '{"text": "fine", "label": 1}',
    '{"text": "broken", "label": ',
    '{"sentence": "no text column", "label": 0}',
    '{"text": "   ", "label": 0}',
    '{"text": "fractional", "label": 1.5}',
    '{"text": "no label"}',
    "",
    '["not", "an", "object"]',
    '{"text": 42, "label": 0}',
    '{"text": "also fine", "label": 0}',
  ];
  const file = await scratchFile("bad.jsonl", lines.join("\n") + "\n");
  await assert.rejects(loadDataFiles(file), (e: Error) => e.message.startsWith(`${file}:2: invalid JSON:`));
  const loaded = await loadDataFiles(file, { skipInvalid: true });
  assert.equal(loaded.skipped, 7);
  assert.deepEqual(loaded.rows, [{ text: "fine", label: 1 }, { text: "also fine", label: 0 }]);

  const expectations: [number, string][] = [
    [3, 'missing column "text"'],
    [4, 'empty text in column "text"'],
    [5, "label 1.5 is not an integer or a class name"],
    [6, 'missing column "label"'],
    [8, "expected a JSON object"],
    [9, 'column "text" is a number, not text'],
  ];
  for (const [line, reason] of expectations) {
    const only = await scratchFile(`bad-${line}.jsonl`, [lines[0], ...Array(line - 2).fill(lines[0]), lines[line - 1]].join("\n"));
    await assert.rejects(loadDataFiles(only), { message: `${only}:${line}: ${reason}` });
  }
});

test("missing text on line 17 of a train file", async () => {
  const rows = Array.from({ length: 20 }, (_, i) => JSON.stringify(i === 16 ? { label: 0 } : { text: `row ${i + 1}`, label: i % 2 }));
  const file = await scratchFile("train.jsonl", rows.join("\n"));
  await assert.rejects(loadDataFiles({ train: file }), { message: `${file}:17: missing column "text"` });
});

test("CSV errors name the line where the record starts", async () => {
  const csv = 'text,label\n"multi\nline\ntext",1\n"ok",0,extra\n"good",zzz\n"fine",0\n';
  const file = await scratchFile("bad.csv", csv);
  await assert.rejects(loadDataFiles(file), { message: `${file}:5: expected 2 fields, found 3` });
  const loaded = await loadDataFiles(file, { skipInvalid: true, labelNames: ["neg", "pos"] });
  assert.equal(loaded.skipped, 2, "the extra field and the unknown label");
  assert.deepEqual(loaded.rows, [{ text: "multi\nline\ntext", label: 1 }, { text: "fine", label: 0 }]);
  await assert.rejects(loadDataFiles(file, { skipInvalid: false, labelNames: ["neg", "pos"], textColumn: "text" }), /bad\.csv:5:/);
  const unterminated = await scratchFile("open.csv", 'text,label\nok,1\n"never closed,0\nmore,1\n');
  await assert.rejects(loadDataFiles(unterminated, { skipInvalid: true }), { message: `${unterminated}:3: unterminated quoted field` });
});

test("labels: names collected and sorted, or mapped through labelNames", async () => {
  const file = await scratchFile("labels.csv", "text,label\na,pos\nb,neg\nc,neutral\nd,pos\n");
  const collected = await loadDataFiles(file);
  assert.deepEqual(collected.labelNames, ["neg", "neutral", "pos"]);
  assert.deepEqual(collected.rows.map((r) => r.label), [2, 0, 1, 2]);

  const given = await loadDataFiles(file, { labelNames: ["pos", "neg", "neutral"] });
  assert.deepEqual(given.rows.map((r) => r.label), [0, 1, 2, 0]);
  await assert.rejects(loadDataFiles(file, { labelNames: ["pos", "neg"] }), {
    message: `${file}:4: unknown label "neutral" (labels: pos, neg)`,
  });

  const numeric = await scratchFile("numeric.tsv", "text\tlabel\na\t1\nb\t0\nc\t2\n");
  assert.deepEqual((await loadDataFiles(numeric)).labelNames, ["0", "1", "2"]);
  assert.deepEqual((await loadDataFiles(numeric, { labelNames: ["neg", "pos", "mid"] })).rows.map((r) => r.label), [1, 0, 2]);
  await assert.rejects(loadDataFiles(numeric, { labelNames: ["neg", "pos"] }), /numeric\.tsv:4: unknown label "2"/);

  const split = await loadDataFiles({ train: file, validation: await scratchFile("val.csv", "text,label\nz,zzz\n") });
  assert.deepEqual(split.train.labelNames, ["neg", "neutral", "pos", "zzz"], "one mapping for all splits");
  assert.deepEqual(split.validation!.rows, [{ text: "z", label: 3 }]);
});

test("JSON arrays and {data: [...]} files", async () => {
  const array = await scratchFile("rows.json", JSON.stringify([{ text: "a", label: 0 }, { text: "b", label: 1 }]));
  assert.equal((await loadDataFiles(array)).rows.length, 2);
  const wrapped = await scratchFile("wrapped.json", JSON.stringify({ data: [{ text: "a", label: 0 }, "nope"] }));
  await assert.rejects(loadDataFiles(wrapped), { message: `${wrapped}:record 2: expected a JSON object` });
  await assert.rejects(loadDataFiles(await scratchFile("scalar.json", "3")), /expected a JSON array of records or \{"data": \[\.\.\.\]\}/);
});

test("unknown extensions and missing files", async () => {
  await assert.rejects(loadDataFiles(await scratchFile("data.txt", "x")), /data\.txt: cannot tell the format from the extension/);
  await assert.rejects(loadDataFiles(join(scratch, "absent.jsonl")), /absent\.jsonl: file not found/);
});
