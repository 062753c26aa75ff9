// The CLI as a careless or hostile user drives it (issue 17, classes 4-6, 8, 9): output folders that hold other
// things, a second method written over a first, resumes of the wrong run, labels and weights that would give a
// silently wrong model, messages that must name the right thing, and a terminal of plain one-line warnings.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { saveSafetensors } from "../../src/io/safetensors.js";
import { DistilBertForSequenceClassification } from "../../src/models/index.js";
import { cli, removeTempDirs, tempDir, tinyDistilBertDir, tinyGpt2Dir } from "../cli/tiny-models.js";

after(removeTempDirs);

const BUNDLED = ["--model", "bundled", "--dataset", "bundled:spam", "--max-rows", "64", "--max-length", "24"];

/** Node's own warning format, which the CLI replaces with one `warning:` line. */
function assertPlainWarnings(stderr: string): void {
  assert.doesNotMatch(stderr, /\(node:\d+\)|--trace-warnings/, stderr);
  const warnings = stderr.split("\n").filter((l) => l.startsWith("warning: "));
  assert.equal(new Set(warnings).size, warnings.length, `a warning repeated:\n${stderr}`);
}

test("a second method written into an output replaces the first one's artifact set; predict loads it without a stale note", async () => {
  const out = join(await tempDir(), "run");
  const lora = await cli(["train", ...BUNDLED, "--method", "lora", "--max-steps", "2", "--output", out]);
  assert.equal(lora.code, 0, lora.stderr);
  assertPlainWarnings(lora.stderr);
  assert.match(lora.stderr, /^warning: train data: truncated \d+ of 64 rows to maxLength 24 tokens/m);
  assert.match(lora.stderr, /^epoch 0\/1 2\/2 /m);

  const predicted = await cli(["predict", "--model", out, "win a free prize now"]);
  assert.equal(predicted.code, 0, predicted.stderr);
  // The base checkpoint lacks the head, but the adapter brings it (modules_to_save).
  assert.doesNotMatch(predicted.stderr, /newly initialized/);

  const head = await cli(["train", ...BUNDLED, "--method", "head", "--max-steps", "1", "--output", out]);
  assert.equal(head.code, 0, head.stderr);
  const files = await readdir(out);
  assert.ok(files.includes("model.safetensors") && !files.includes("adapter_model.safetensors") && !files.includes("adapter_config.json"), files.join());
  assert.ok(!files.some((f) => f.endsWith(".tmp") || f.startsWith(".finetune-save") || f === ".finetune.lock"), files.join());
});

test("an output folder holding other files, or the model's own folder, is refused unless --overwrite, which leaves nothing stale", async () => {
  const dir = await tempDir();
  await writeFile(join(dir, "notes.txt"), "mine");
  const refused = await cli(["train", ...BUNDLED, "--method", "head", "--max-steps", "1", "--output", dir]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--output .* already holds files \(notes\.txt\).*--overwrite/);
  assert.deepEqual(await readdir(dir), ["notes.txt"]);

  const model = await tinyDistilBertDir();
  const onModel = await cli(["train", "--model", model, "--dataset", "bundled:spam", "--max-rows", "16", "--method", "head", "--max-steps", "1", "--output", model]);
  assert.equal(onModel.code, 2);
  assert.match(onModel.stderr, /is also an input of this run/);

  const overwritten = await cli(["train", ...BUNDLED, "--method", "head", "--max-steps", "1", "--output", dir, "--overwrite"]);
  assert.equal(overwritten.code, 0, overwritten.stderr);
  assert.ok(!(await readdir(dir)).includes("notes.txt"));
});

test("--resume: a missing folder, changed flags and a run stopped before its first checkpoint are each named; the NaN hint names --clip", async () => {
  const missing = await cli(["train", "--output", join(await tempDir(), "nope"), "--resume"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--resume: .*nope does not exist/);

  const out = join(await tempDir(), "run");
  const first = await cli(["train", ...BUNDLED, "--method", "head", "--max-steps", "1", "--output", out]);
  assert.equal(first.code, 0, first.stderr);
  const changed = await cli(["train", "--output", out, "--resume", "--lr", "0.5", "--method", "full"]);
  assert.equal(changed.code, 2);
  assert.match(changed.stderr, /trained with other settings: --lr 0\.5 \(recorded: not given\); --method full \(recorded: head\)/);

  // A new run in the same folder diverges at step 2, before its first checkpoint: the first run's checkpoint is gone,
  // so --resume cannot continue it on the new run's settings.
  const diverged = await cli(["train", ...BUNDLED, "--method", "full", "--lr", "1e30", "--batch-size", "8", "--output", out]);
  assert.equal(diverged.code, 1, diverged.stderr);
  assert.match(diverged.stderr, /or set --clip/);
  const resumed = await cli(["train", "--output", out, "--resume"]);
  assert.equal(resumed.code, 2);
  assert.match(resumed.stderr, /no checkpoint at .*checkpoints\/last to continue from \(the run stopped before its first one\)/);
});

test("labels that would train a wrong head are refused: only in the test file, duplicated names, a gap to 999999; so is --epochs 0", async () => {
  const dir = await tempDir();
  const train = join(dir, "train.jsonl"), testFile = join(dir, "test.jsonl"), sparse = join(dir, "sparse.jsonl");
  await writeFile(train, '{"text":"good film","label":"pos"}\n{"text":"bad film","label":"neg"}\n{"text":"fine","label":"pos"}\n');
  await writeFile(testFile, '{"text":"so so","label":"neutral"}\n');
  await writeFile(sparse, '{"text":"good film","label":0}\n{"text":"bad film","label":1}\n{"text":"odd","label":999999}\n');
  const run = (...args: string[]) => cli(["train", "--model", "bundled", "--method", "head", "--max-steps", "1", "--output", join(dir, "out"), ...args]);
  const onlyInTest = await run("--train", train, "--test", testFile);
  const twice = await run("--train", train, "--label-names", "neg,pos,neg");
  const gap = await run("--train", sparse);
  const zero = await run("--train", train, "--epochs", "0");
  for (const r of [onlyInTest, twice, gap, zero]) assert.equal(r.code, 2, r.stderr);
  assert.match(onlyInTest.stderr, /label "neutral" occurs in the test data \(.*test\.jsonl\) but not in the training data/);
  assert.match(twice.stderr, /--label-names: "neg" is given twice/);
  assert.match(gap.stderr, /sparse\.jsonl: the labels imply 1000000 classes but "2", .* never occur/);
  assert.match(zero.stderr, /--epochs 0 would save the untrained model/);
});

test("a model with NaN weights, or with none of the architecture's weights, fails with the file and tensor instead of scoring", async () => {
  const nan = await tinyDistilBertDir();
  const model = await DistilBertForSequenceClassification.fromPretrained(nan, { onWarning: () => undefined });
  model.classifier.weight.data[3] = NaN;
  await model.savePretrained(nan);
  const predicted = await cli(["predict", "--model", nan, "--json", "a text"]);
  assert.equal(predicted.code, 1);
  assert.match(predicted.stderr, /weight classifier\.weight holds NaN at index 3/);
  assert.equal(predicted.stdout, "");

  const unrelated = await tinyDistilBertDir();
  await saveSafetensors(join(unrelated, "model.safetensors"), new Map([["encoder.h.0.w", { dtype: "F32", shape: [2], data: new Float32Array(2) }]]));
  const trained = await cli(["train", "--model", unrelated, "--dataset", "bundled:spam", "--max-rows", "16", "--method", "head", "--max-steps", "1", "--output", join(await tempDir(), "o")]);
  assert.equal(trained.code, 1);
  assert.match(trained.stderr, /its checkpoint has none of DistilBertForSequenceClassification's weights .*'encoder\.h\.0\.w'/);
});

test("messages name the file: an empty validation file; generate past the context stops there with a warning and prints what it made", async () => {
  const dir = await tempDir();
  await writeFile(join(dir, "train.jsonl"), '{"text":"good","label":1}\n{"text":"bad","label":0}\n');
  await writeFile(join(dir, "empty.jsonl"), "");
  const empty = await cli(["train", "--model", "bundled", "--method", "head", "--train", join(dir, "train.jsonl"), "--validation", join(dir, "empty.jsonl"), "--output", join(dir, "o")]);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /empty\.jsonl: no rows/);

  const gpt2 = await tinyGpt2Dir();
  const long = await cli(["generate", "--model", gpt2, "--max-new-tokens", "1000000", "Hello"]);
  assert.equal(long.code, 0, long.stderr);
  assert.match(long.stderr, /^warning: generation stops after 127 new tokens, at the end of the model's context \(128 positions\)/m);
  assert.ok(long.stdout.startsWith("Hello") && long.stdout.length > "Hello\n".length, long.stdout);
  assertPlainWarnings(long.stderr);
});
