// `--lr auto` through the real command line on a tiny random DistilBERT and real UCI sentences: a range test
// picks the rate, which is trained with, printed in one line and recorded in metrics.json and the compare report.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ComparisonReport } from "../../src/report/types.js";
import { UCI, cli, removeTempDirs, tempDir, tinyDistilBertDir } from "./tiny-models.js";

after(removeTempDirs);

let model: string;
before(async () => { model = await tinyDistilBertDir(); });

const dataArgs = ["--train", join(UCI, "train.jsonl"), "--validation", join(UCI, "validation.jsonl"), "--test", join(UCI, "test.jsonl"),
  "--max-rows", "48", "--max-length", "32", "--batch-size", "8", "--max-steps", "3"];
const LINE = /^learning rate (\S+) \(range test\): suggestion (\S+), lowest loss at (\S+), (\d+) of 100 steps( \(stopped: the loss diverged\))?, [\d.]+ s$/m;

const hparamsLr = async (dir: string) => (JSON.parse(await readFile(join(dir, "logs", "hparams.json"), "utf8")) as { lr: number }).lr;

test("train --lr auto trains at the range test's suggestion, prints it in one line and saves it in metrics.json", async () => {
  const out = join(await tempDir(), "auto");
  const r = await cli(["train", "--model", model, "--method", "full", ...dataArgs, "--lr", "auto", "--output", out]);
  assert.equal(r.code, 0, r.stderr);
  const line = r.stderr.match(LINE);
  assert.ok(line, r.stderr);
  const metrics = JSON.parse(await readFile(join(out, "metrics.json"), "utf8"));
  const f = metrics.lrFind;
  assert.ok(f.suggestion > 1e-8 && f.suggestion < 1, `suggestion ${f.suggestion}`);
  assert.equal(metrics.lr, f.suggestion);
  assert.equal(await hparamsLr(out), f.suggestion, "the rate trained with");
  assert.ok(f.steps > 10 && f.steps <= 100 && f.numTraining === 100, `${f.steps} steps`);
  assert.equal(f.stoppedEarly, f.steps < 100);
  assert.ok(f.minLossLr >= f.suggestion && f.seconds > 0);
  assert.equal(Number(line[1]), Number(f.suggestion.toPrecision(3)));
  assert.equal(Number(line[3]), Number(f.minLossLr.toPrecision(3)));
  assert.equal(Number(line[4]), f.steps);
  assert.equal(metrics.steps, 3);
});

test("without --lr the rate is the method's default for the model's width, and no range test runs", async () => {
  const out = join(await tempDir(), "default");
  const r = await cli(["train", "--model", model, "--method", "full", ...dataArgs, "--output", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /range test/);
  const metrics = JSON.parse(await readFile(join(out, "metrics.json"), "utf8"));
  // Width 32: 768/32 = 24 times full's 5e-5, capped at 10 times.
  assert.equal(metrics.lr, 5e-4);
  assert.equal(metrics.lrFind, null);
  assert.equal(await hparamsLr(out), 5e-4);
});

test("prefix tuning goes through its MLP by default, at P-tuning's rate; trained directly it gets ten times that", async () => {
  for (const [flags, lr, projection] of [[[], 1e-3, true], [["--prefix-projection=false"], 1e-2, false]] as const) {
    const out = join(await tempDir(), `prefix-${projection}`);
    const r = await cli(["train", "--model", model, "--method", "prefix", ...dataArgs, ...flags, "--output", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(await readFile(join(out, "metrics.json"), "utf8")).lr, lr);
    assert.equal(JSON.parse(await readFile(join(out, "adapter_config.json"), "utf8")).prefix_projection, projection);
  }
});

test("--lr and --method-lr take a number or auto, and say so", async () => {
  const bad = await cli(["train", "--model", model, "--method", "full", ...dataArgs, "--lr", "fast", "--output", join(await tempDir(), "x")]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--lr must be a number >= 0 or auto, got "fast"/);
  const badMethod = await cli(["compare", "--model", model, ...dataArgs, "--method-lr", "full=quick", "--output", join(await tempDir(), "y")]);
  assert.equal(badMethod.code, 2, badMethod.stderr);
  assert.match(badMethod.stderr, /--method-lr full must be a number >= 0 or auto, got "quick"/);
});

test("compare --lr auto runs a range test per method and records each method's rate; --method-lr overrides it", async () => {
  const out = join(await tempDir(), "report");
  const r = await cli(["compare", "--model", model, ...dataArgs, "--methods", "head,lora,feature", "--lr", "auto", "--method-lr", "lora=2e-3", "--output", out]);
  assert.equal(r.code, 0, r.stderr);
  const report: ComparisonReport = JSON.parse(await readFile(join(out, "report.json"), "utf8"));
  assert.equal(report.budget.lr, "auto");
  assert.deepEqual(report.methodLr, { lora: 2e-3 });
  const by = Object.fromEntries(report.methods.map((e) => [e.method, e]));
  assert.ok(by.head.lrFind && by.head.lrFind.suggestion !== null);
  assert.equal(by.head.lr, by.head.lrFind.suggestion);
  assert.equal(await hparamsLr(join(out, "head")), by.head.lr);
  assert.match(r.stderr, /\[1\/3\] head only: learning rate \S+ \(range test\): suggestion/);
  assert.equal(by.lora.lr, 2e-3);
  assert.equal(by.lora.lrFind, null);
  assert.equal(by.feature.lr, null);
  assert.equal(by.feature.lrFind, null);
  const md = await readFile(join(out, "report.md"), "utf8");
  assert.match(md, /\| head only \| layer fine-tuning \| \S+ \(auto\) \|/);
  assert.match(md, /\| LoRA \| parameter-efficient \| 2e-3 \|/);
});
