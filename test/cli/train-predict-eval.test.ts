// train -> predict -> eval through the real command line, on a tiny random DistilBERT with the real
// bert-base-uncased tokenizer and real UCI sentiment sentences, for one method of each kind of output:
// a whole model (head), a PEFT adapter (lora) and a classifier on frozen features (feature).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { access, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UCI, cli, removeTempDirs, tempDir, tinyDistilBertDir } from "./tiny-models.js";
import { LogisticRegression } from "../../src/methods/logistic-regression.js";
import { CLASSIFIER_FILE } from "../../src/cli/pipeline/output-dir.js";

after(removeTempDirs);

let model: string;
before(async () => { model = await tinyDistilBertDir(); });

const ROWS = "48";
const dataArgs = ["--train", join(UCI, "train.jsonl"), "--validation", join(UCI, "validation.jsonl"), "--test", join(UCI, "test.jsonl"),
  "--max-rows", ROWS, "--label-names", "neg,pos", "--max-length", "32", "--batch-size", "8"];

const ARTIFACTS: Record<string, string[]> = {
  head: ["config.json", "model.safetensors"],
  lora: ["adapter_config.json", "adapter_model.safetensors"],
  feature: ["classifier.safetensors"],
};

for (const [method, files] of Object.entries(ARTIFACTS)) {
  test(`${method}: train writes its artifact, predict labels texts, eval reproduces the test scores`, async () => {
    const out = join(await tempDir(), method);
    const trained = await cli(["train", "--model", model, "--method", method, ...dataArgs, "--max-steps", "3", "--output", out]);
    assert.equal(trained.code, 0, trained.stderr);
    assert.match(trained.stdout, /^test: acc /m);
    for (const f of [...files, "tokenizer.json", "finetune.json", "metrics.json"]) await access(join(out, f));
    const metrics = JSON.parse(await readFile(join(out, "metrics.json"), "utf8"));
    assert.equal(metrics.method, method);
    assert.ok(metrics.params.trainable > 0 && metrics.params.trainable <= metrics.params.all);
    assert.ok(metrics.artifactBytes > 0);

    const predicted = await cli(["predict", "--model", out, "--json", "a wonderful, moving film", "the battery died after a day"]);
    assert.equal(predicted.code, 0, predicted.stderr);
    const lines = predicted.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    for (const p of lines) {
      assert.ok(["neg", "pos"].includes(p.label), p.label);
      assert.ok(Math.abs(p.probabilities.neg + p.probabilities.pos - 1) < 1e-5);
      assert.equal(p.score, Math.max(p.probabilities.neg, p.probabilities.pos));
    }
    const piped = await cli(["predict", "--model", out], "first line\nsecond line\n");
    assert.equal(piped.code, 0, piped.stderr);
    assert.deepEqual(piped.stdout.trim().split("\n").map((l) => l.split("\t")[3]), ["first line", "second line"]);

    const evaluated = await cli(["eval", "--model", out, "--data", join(UCI, "test.jsonl"), "--max-rows", ROWS, "--batch-size", "8", "--json"]);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    const scores = JSON.parse(evaluated.stdout);
    assert.equal(scores.rows, Number(ROWS));
    assert.ok(Math.abs(scores.acc - metrics.test.acc) < 1e-9, `eval ${scores.acc} vs train's test ${metrics.test.acc}`);
    assert.ok(Math.abs(scores.f1 - metrics.test.f1) < 1e-9);
  });
}

test("--resume continues the run in --output from its checkpoint with the saved flags", async () => {
  const out = join(await tempDir(), "resumed");
  const first = await cli(["train", "--model", model, "--method", "prompt", ...dataArgs, "--max-steps", "2", "--output", out]);
  assert.equal(first.code, 0, first.stderr);
  const resumed = await cli(["train", "--output", out, "--resume", "--max-steps", "4"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  const metrics = JSON.parse(await readFile(join(out, "metrics.json"), "utf8"));
  assert.equal(metrics.steps, 4);
  assert.equal(metrics.method, "prompt");
});

test("--config reads flags from YAML (kebab-case and camelCase keys), the command line overrides it", async () => {
  const dir = await tempDir();
  const config = join(dir, "run.yaml");
  const out = join(dir, "out");
  await writeFile(config, [
    `model: ${model}`, "method: head", `train: ${join(UCI, "train.jsonl")}`, `test: ${join(UCI, "test.jsonl")}`,
    "max-rows: 32", "maxSteps: 2", "max-length: 32", "label-names: [neg, pos]", `output: ${out}`, "lr: 0.5", "",
  ].join("\n"));
  const r = await cli(["train", "--config", config, "--lr", "0.01"]);
  assert.equal(r.code, 0, r.stderr);
  const args = JSON.parse(await readFile(join(out, "train-args.json"), "utf8")).flags;
  assert.equal(args.lr, 0.01);
  assert.equal(args.maxSteps, 2);
  assert.deepEqual(args.labelNames, ["neg", "pos"]);

  await writeFile(config, "model: x\nlearning-rate: 3\n");
  const bad = await cli(["train", "--config", config]);
  assert.notEqual(bad.code, 0);
  assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  assert.match(bad.stderr, /run\.yaml: unknown key "learning-rate"/);
});

test("feature without --pooling keeps the best of cls and mean and of logreg's C on held-out rows, saves them, and --pooling fixes the pooling", async () => {
  const dir = await tempDir();
  const noValidation = dataArgs.filter((a, i) => a !== "--validation" && dataArgs[i - 1] !== "--validation");
  for (const [args, held] of [[dataArgs, "the validation split"], [noValidation, "a held-out tenth of them"]] as const) {
    const out = join(dir, held.replaceAll(" ", "-"));
    const r = await cli(["train", "--model", model, "--method", "feature", ...args, "--output", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stderr.includes(`keeping the pooling and L2 strength C that scores best on ${held}`), r.stderr);
    const picked = /^picked: (cls|mean) pooling, C ([\d.]+) \(accuracy: cls 0\.\d{4} at C [\d.]+, mean 0\.\d{4} at C [\d.]+\)$/m.exec(r.stderr);
    assert.ok(picked, r.stderr);
    const saved = JSON.parse(await readFile(join(out, "finetune.json"), "utf8"));
    assert.equal(JSON.stringify(saved).match(/"pooling":"(\w+)"/)?.[1], picked[1]);
    assert.equal((await LogisticRegression.load(join(out, CLASSIFIER_FILE))).options.C, Number(picked[2]));
  }
  // Twelve training rows and no validation split: too few to hold a tenth out, so the usual pooling.
  const few = await cli(["train", "--model", model, "--method", "feature", ...noValidation.map((a) => (a === ROWS ? "12" : a)), "--output", join(dir, "few")]);
  assert.equal(few.code, 0, few.stderr);
  assert.match(few.stderr, /extracting cls-pooled features of 12 training texts\n/);
  const fixed = await cli(["train", "--model", model, "--method", "feature", "--pooling", "mean", ...dataArgs, "--output", join(dir, "fixed")]);
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.match(fixed.stderr, /extracting mean-pooled features of 48 training texts; keeping the L2 strength C that scores best on the validation split\n/);
  assert.match(fixed.stderr, /^picked: C [\d.]+ \(accuracy: mean 0\.\d{4} at C [\d.]+\)$/m);
});
