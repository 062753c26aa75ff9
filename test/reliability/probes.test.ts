// Re-probe of issue 17's nine classes through the CLI, with cases of our own (not the issue's examples): each ends
// with an exit code, one line naming the file, field or folder, and no artifact that lies. Which other tests cover
// each class is listed in docs/reliability.md (section 16).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tinyParquet } from "../data/tiny-parquet.js";
import { cli, removeTempDirs, tempDir, tinyDistilBertDir, type CliResult } from "../cli/tiny-models.js";
import { DATA } from "./helpers/common.js";

after(removeTempDirs);

/** A refusal: the exit code, one line on stderr (no stack, no Node warning format), naming `what`. */
function refused(r: CliResult, code: number, what: string, pattern?: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("warning: "));
  assert.equal(lines.length, 1, `expected one line:\n${r.stderr}`);
  assert.ok(lines[0]!.includes(what), `should name ${what}: ${lines[0]}`);
  if (pattern) assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\(node:\d+\)|^\s+at /m);
}

/** A refused run may leave its (new) output folder, but nothing in it a reader could load, and no lock or temp file. */
async function assertNoArtifact(dir: string): Promise<void> {
  const left = await readdir(dir).catch(() => []);
  assert.deepEqual(left.filter((f) => f !== ".finetune-output.json"), [], `${dir} holds ${left.join(", ")}`);
}

const deadPid = () => spawnSync(process.execPath, ["-e", "0"]).pid!;

test("class 1: a catastrophic normalizer Replace regex in tokenizer.json is refused before the binding, naming the field", async () => {
  const dir = await tinyDistilBertDir();
  const file = join(dir, "tokenizer.json");
  const doc = JSON.parse(await readFile(file, "utf8"));
  doc.normalizer = { type: "Sequence", normalizers: [doc.normalizer, { type: "Replace", pattern: { Regex: "(\\w|\\d)+$" }, content: "" }] };
  await writeFile(file, JSON.stringify(doc));
  refused(await cli(["predict", "--model", dir, "a".repeat(2000) + "!"]), 1, "tokenizer.json", /normalizer.*Regex/);
});

test("classes 2 and 3: a Parquet run header claiming 2^27 values, and a Parquet row or JSONL line over --max-record-chars, fail at their file", async () => {
  const dir = await tempDir();
  const rows = Array.from({ length: 16 }, (_, i) => ({ text: i === 3 ? null : `text ${i} ${"x".repeat(i === 5 ? 400 : 4)}`, label: i % 2 }));
  const parquet = (texts: (string | null)[]) => tinyParquet([{ name: "text", type: "string", values: texts }, { name: "label", type: "int64", values: rows.map((r) => r.label) }]);
  await writeFile(join(dir, "ok.parquet"), parquet(rows.map((r) => r.text ?? "filled")));
  // A null makes the text column OPTIONAL, with definition levels.
  const broken = parquet(rows.map((r) => r.text));
  // The text column's definition levels follow its page header: a 4-byte length, then "02 01" runs.
  const at = broken.indexOf(Buffer.from([0x02, 0x01, 0x02, 0x01]));
  Buffer.from([0xfe, 0xff, 0xff, 0x7f]).copy(broken, at);
  await writeFile(join(dir, "bad.parquet"), broken);
  const common = ["train", "--model", "bundled", "--method", "head", "--max-steps", "1", "--max-length", "16"];
  refused(await cli([...common, "--train", join(dir, "bad.parquet"), "--output", join(dir, "a")]), 1, "bad.parquet", /a run of 134217727 values/);
  refused(await cli([...common, "--train", join(dir, "ok.parquet"), "--max-record-chars", "100", "--output", join(dir, "b")]), 1, "ok.parquet:row 6", /longer than 100 characters.*--max-record-chars/);
  await writeFile(join(dir, "long.jsonl"), `{"text": "short", "label": 0}\n{"text": "${"y".repeat(5000)}", "label": 1}\n`);
  refused(await cli([...common, "--train", join(dir, "long.jsonl"), "--max-record-chars", "1000", "--output", join(dir, "c")]), 1, "long.jsonl:2");
  for (const out of ["a", "b", "c"]) await assertNoArtifact(join(dir, out));
});

test("class 4: pretrain refuses a foreign folder and --resume with --overwrite; export refuses an existing file and a folder", async () => {
  const dir = await tempDir();
  await writeFile(join(dir, "corpus.txt"), "one line of text\n");
  const foreign = join(dir, "mine");
  await (await import("node:fs/promises")).mkdir(foreign);
  await writeFile(join(foreign, "thesis.tex"), "keep me");
  refused(await cli(["pretrain", join(dir, "corpus.txt"), "--output", foreign]), 2, foreign, /already holds files \(thesis\.tex\).*--overwrite/);
  assert.deepEqual(await readdir(foreign), ["thesis.tex"]);
  refused(await cli(["pretrain", join(dir, "corpus.txt"), "--output", join(dir, "p"), "--resume", "--overwrite"]), 2, "--resume", /--overwrite/);
  refused(await cli(["pretrain", join(dir, "corpus.txt"), "--output", join(dir, "corpus.txt")]), 2, "corpus.txt", /also an input/);

  const target = join(dir, "model.gguf");
  await writeFile(target, "someone's file");
  refused(await cli(["export", "--model", "bundled", "--format", "gguf", "--output", target]), 2, target, /already exists.*--overwrite/);
  assert.equal(await readFile(target, "utf8"), "someone's file");
  refused(await cli(["export", "--model", "bundled", "--format", "gguf", "--output", foreign]), 2, foreign, /is a folder/);
});

test("class 4 (readers): predict on a folder a live run is writing is refused naming the pid and command; a dead run's lock is ignored", async () => {
  const dir = await tinyDistilBertDir();
  // This test's own process is alive and is not the child's: a run writing the folder right now.
  await writeFile(join(dir, ".finetune.lock"), JSON.stringify({ pid: process.pid, host: hostname(), since: "now", command: "finetune train" }));
  refused(await cli(["predict", "--model", dir, "hello"]), 1, dir, new RegExp(`being written by pid ${process.pid} \\(finetune train, since now\\); wait for it`));
  for (const command of ["generate", "eval", "export"]) {
    const args = command === "eval" ? ["--data", join(DATA, "sentiment/uci/yelp_labelled.txt")] : command === "export" ? ["--format", "gguf", "--output", join(dir, "..", "x.gguf")] : ["hi"];
    const r = await cli([command, "--model", dir, ...args]);
    assert.match(r.stderr, new RegExp(`being written by pid ${process.pid}`), `${command}: ${r.stderr}`);
  }
  await writeFile(join(dir, ".finetune.lock"), JSON.stringify({ pid: deadPid(), host: hostname(), since: "earlier", command: "finetune train" }));
  const ok = await cli(["predict", "--model", dir, "hello"]);
  assert.equal(ok.code, 0, ok.stderr);
});

test("classes 5 and 9: pretrain --resume on a folder without a first run names it; a stale lock is taken over with one plain warning line", async () => {
  const dir = await tempDir();
  await writeFile(join(dir, "corpus.txt"), "one line\n");
  const out = join(dir, "out");
  refused(await cli(["pretrain", join(dir, "corpus.txt"), "--output", out, "--resume", "--max-steps", "2"]), 1, out, /--resume: .* has no tokenizer\.json from the first run/);
  await writeFile(join(out, ".finetune.lock"), JSON.stringify({ pid: deadPid(), host: hostname(), since: "earlier", command: "finetune pretrain" }));
  const r = await cli(["pretrain", join(dir, "corpus.txt"), "--output", out, "--max-steps", "2", "--vocab-size", "64"]);
  assert.equal(r.code, 1, r.stderr);
  const warnings = r.stderr.split("\n").filter((l) => l.startsWith("warning: "));
  assert.equal(warnings.filter((w) => /took over the lock of process \d+/.test(w)).length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\(node:\d+\)|--trace-warnings/);
  assert.ok(!(await readdir(out)).some((f) => f === ".finetune.lock" || f.endsWith(".tmp") || f.startsWith(".finetune-save")), "no lock or temp file is left");
});

test("classes 6, 7 and 8: labels outside --label-names, a tokenizer larger than the model's vocabulary, a missing data file", async () => {
  const dir = await tempDir();
  const model = await tinyDistilBertDir();
  await writeFile(join(dir, "t.jsonl"), '{"text": "a", "label": "pos"}\n{"text": "b", "label": "maybe"}\n{"text": "c", "label": "neg"}\n');
  const common = ["train", "--model", model, "--method", "head", "--max-steps", "1", "--max-length", "16"];
  const labels = await cli([...common, "--train", join(dir, "t.jsonl"), "--label-names", "neg,pos", "--output", join(dir, "a")]);
  assert.notEqual(labels.code, 0);
  assert.match(labels.stderr, /t\.jsonl:2.*maybe/);
  refused(await cli(["predict", "--model", model, "--tokenizer", join(DATA, "tokenizers/gpt2"), "hello"]), 2, "tokenizers/gpt2", /ids up to 50256 .*config\.json has vocab_size 30522/);
  refused(await cli([...common, "--train", join(dir, "nope.jsonl"), "--output", join(dir, "b")]), 1, "nope.jsonl", /not found/);
  for (const out of ["a", "b"]) await assertNoArtifact(join(dir, out));
});
