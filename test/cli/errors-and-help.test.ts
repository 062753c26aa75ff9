// Bad input ends in one line on stderr that names the problem, and a non-zero exit code; every command
// documents itself with --help.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { commands } from "../../src/cli/main.js";
import { UCI, cli, removeTempDirs, tempDir, tinyDistilBertDir } from "./tiny-models.js";
import { DATA, fixtureDir } from "../helpers/fixtures.js";

after(removeTempDirs);

let model: string, dir: string;
before(async () => {
  [model, dir] = await Promise.all([tinyDistilBertDir(), tempDir()]);
});

async function failsWithOneLine(args: string[], pattern: RegExp): Promise<void> {
  const r = await cli(args);
  assert.notEqual(r.code, 0, `exit code for ${args.join(" ")}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
}

const train = (...extra: string[]) => ["train", "--model", model, "--method", "head", "--output", join(dir, "out"), ...extra];

test("a missing data file is named", async () => {
  await failsWithOneLine(train("--train", join(dir, "nope.jsonl")), /^finetune train: .*nope\.jsonl: file not found$/);
});

test("a label outside --label-names is named with its file and line", async () => {
  const file = join(dir, "bad-label.jsonl");
  await writeFile(file, '{"text": "fine", "label": "pos"}\n{"text": "hmm", "label": "maybe"}\n');
  await failsWithOneLine(train("--train", file, "--label-names", "neg,pos"), /bad-label\.jsonl:2: unknown label "maybe" \(labels: neg, pos\)/);
});

test("an unknown method lists the known ones", async () => {
  await failsWithOneLine(["train", "--model", model, "--method", "dora", "--train", join(UCI, "train.jsonl"), "--output", dir],
    /--method must be one of feature, head, last-layers, full, lora, prompt, p-tuning, prefix, ia3, adapter, got "dora"/);
});

test("an unknown bundled task lists the bundled ones", async () => {
  await failsWithOneLine(["train", "--model", model, "--method", "head", "--dataset", "bundled:nope", "--output", join(dir, "bundled-out")],
    /--dataset bundled:nope: no such bundled task; bundled seq-cls tasks: bundled:sentiment, bundled:spam \(see finetune train --help\)$/);
});

test("an unknown flag is named, with the closest known one", async () => {
  await failsWithOneLine(train("--train", join(UCI, "train.jsonl"), "--epoch", "2"), /unknown option --epoch \(did you mean --epochs\?\)/);
});

test("a malformed number is named with its flag", async () => {
  await failsWithOneLine(train("--train", join(UCI, "train.jsonl"), "--batch-size", "eight"), /--batch-size must be an integer >= 1, got "eight"/);
});

test("an unknown command lists the commands", async () => {
  await failsWithOneLine(["fine-tune"], /unknown command "fine-tune" \(commands: train, eval, predict, generate, chat, merge, compare, .*doctor\)/);
});

test("a model folder that does not exist is named", async () => {
  await failsWithOneLine(["predict", "--model", join(dir, "no-model"), "some text"], /no-model: no such model folder/);
});

test("every command has --help with usage, options and examples", async () => {
  const names = commands.map((c) => c.name);
  for (const name of ["train", "eval", "predict", "generate", "chat", "merge", "compare", "doctor"]) assert.ok(names.includes(name), name);
  for (const c of commands) {
    assert.match(c.help, new RegExp(`^Usage: finetune ${c.name}`), c.name);
    assert.match(c.help, /\nExamples:\n {2}finetune /, c.name);
  }
  for (const name of ["train", "compare"]) {
    const r = await cli([name, "--help"]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), commands.find((c) => c.name === name)!.help);
  }
  const top = await cli(["--help"]);
  assert.equal(top.code, 0);
  const width = Math.max(...names.map((n) => n.length));
  for (const c of commands) assert.ok(top.stdout.includes(`  ${c.name.padEnd(width)}  ${c.summary}\n`), c.name);
});

test("a tokenizer whose ids exceed the model's vocabulary is refused at load, naming both", async () => {
  // The DistilBERT fixture has 512 embedding rows; BERT's tokenizer has 30,522 ids.
  const small = fixtureDir("distilbert");
  const tokenizer = join(DATA, "tokenizers", "bert-base-uncased");
  const r = await cli(["train", "--model", small, "--tokenizer", tokenizer, "--method", "head", "--train", join(UCI, "train.jsonl"), "--output", join(dir, "vocab")]);
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.stderr, /embedding: index|\n\s+at /, "refused at load, not at the first forward, and without a stack trace");
  assert.match(r.stderr.trim().split("\n").at(-1)!, new RegExp(`the tokenizer in ${tokenizer.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} has token ids up to 30521 .* but the model's ${join(small, "config.json").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} has vocab_size 512`));
});
