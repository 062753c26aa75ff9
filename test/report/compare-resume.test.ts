// `finetune compare` interrupted by Ctrl-C in the middle of a method, then continued with --resume: the finished
// method is kept as measured, the interrupted one continues from its checkpoint and ends with the very adapter
// an uninterrupted run trains, and the rest run. After a crash (SIGKILL) the crashed method trains again. --resume
// refuses a comparison made with other settings.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ComparisonReport } from "../../src/report/types.js";
import { readCheckpoint } from "../../src/train/checkpoint.js";
import { REPO, UCI, cli, removeTempDirs, tempDir, tinyDistilBertDir } from "../cli/tiny-models.js";

after(removeTempDirs);

const STEPS = 600;
let args: string[], out: string;

before(async () => {
  const model = await tinyDistilBertDir();
  out = join(await tempDir("finetune-compare-resume-"), "report");
  args = [
    "compare", "--model", model, "--train", join(UCI, "train.jsonl"), "--validation", join(UCI, "validation.jsonl"), "--test", join(UCI, "test.jsonl"),
    "--max-rows", "160", "--max-steps", String(STEPS), "--batch-size", "16", "--max-length", "32", "--methods", "head,lora,prompt",
    "--num-virtual-tokens", "4",
  ];
});

const readReport = async (dir: string): Promise<ComparisonReport> => JSON.parse(await readFile(join(dir, "report.json"), "utf8"));

/** The CLI in a child process, sent `signal` once `file` exists (LoRA's logger writes it as its fit starts). */
function interruptedWhen(file: string, argv: string[], signal: NodeJS.Signals = "SIGINT"): Promise<{ code: number | null; stderr: string; signalled: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(REPO, "src/cli/bin.ts"), ...argv], { cwd: REPO, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "", signalled = false;
    child.stderr.on("data", (d) => (stderr += d));
    const poll = setInterval(() => {
      if (!signalled && existsSync(file)) { signalled = true; child.kill(signal); }
    }, 20);
    child.on("close", (code) => { clearInterval(poll); resolve({ code, stderr, signalled }); });
  });
}

test("Ctrl-C mid-method keeps the finished method; --resume continues the interrupted one to the same adapter", { timeout: 240_000 }, async () => {
  const first = await interruptedWhen(join(out, "lora", "logs", "hparams.json"), [...args, "--output", out]);
  assert.ok(first.signalled, first.stderr);
  assert.equal(first.code, 130, first.stderr);
  assert.match(first.stderr, /interrupted at step \d+; continue with the same command and --resume/);
  const partial = await readReport(out);
  assert.deepEqual(partial.methods.map((e) => e.method), ["head"]);
  assert.deepEqual(partial.pending, ["lora", "prompt"]);
  assert.match(await readFile(join(out, "report.md"), "utf8"), /Not run yet, .*--resume.*: lora, prompt\./);
  const saved = await readCheckpoint(join(out, "lora", "checkpoints", "last"));
  // On a busy machine the signal can land before LoRA's first step: the run then stops at step 0 with a
  // checkpoint, which --resume must continue just the same.
  assert.ok(saved.state.globalStep >= 0 && saved.state.globalStep < STEPS, `interrupted at step ${saved.state.globalStep}`);
  assert.ok(saved.state.fitSeconds! > 0);

  const resumed = await cli([...args, "--output", out, "--resume"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /\[1\/3\] head only: kept from the earlier run/);
  assert.match(resumed.stderr, /\[2\/3\] LoRA: continuing from its checkpoint/);
  const report = await readReport(out);
  assert.deepEqual(report.methods.map((e) => e.method), ["head", "lora", "prompt"]);
  assert.deepEqual(report.methods[0], partial.methods[0], "the finished method is kept as it was measured");
  assert.deepEqual(report.pending, []);
  const lora = report.methods[1];
  assert.equal(lora.steps, STEPS);
  assert.ok(lora.trainSeconds > saved.state.fitSeconds!, "training time counts the part before the interruption");
  assert.equal(existsSync(join(out, "lora", "checkpoints")), false, "a finished method's checkpoint is removed");

  const straight = join(await tempDir("finetune-compare-straight-"), "report");
  const reference = await cli([...args.map((a) => (a === "head,lora,prompt" ? "lora" : a)), "--output", straight]);
  assert.equal(reference.code, 0, reference.stderr);
  const adapter = (dir: string) => readFile(join(dir, "lora", "adapter_model.safetensors"));
  assert.ok((await adapter(out)).equals(await adapter(straight)), "the resumed LoRA adapter differs from an uninterrupted run's");
  assert.equal(report.methods[1].testAccuracy, (await readReport(straight)).methods[0].testAccuracy);
});

test("after a crash (SIGKILL) mid-method, --resume keeps the finished method and trains the crashed one again", { timeout: 240_000 }, async () => {
  const crashed = join(await tempDir("finetune-compare-crash-"), "report");
  const argv = [...args.map((a) => (a === "head,lora,prompt" ? "head,lora" : a)), "--output", crashed];
  const first = await interruptedWhen(join(crashed, "lora", "logs", "hparams.json"), argv, "SIGKILL");
  assert.ok(first.signalled, first.stderr);
  const partial = await readReport(crashed);
  assert.deepEqual(partial.methods.map((e) => e.method), ["head"]);
  assert.deepEqual(partial.pending, ["lora"]);
  const resumed = await cli([...argv, "--resume"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /\[2\/2\] LoRA: training/);
  const report = await readReport(crashed);
  assert.deepEqual(report.methods[0], partial.methods[0]);
  assert.equal(report.methods[1].steps, STEPS);
});

test("--resume refuses other settings, naming the difference, and needs a report to continue", async () => {
  const other = await cli([...args.map((a) => (a === "16" ? "8" : a)), "--output", out, "--resume"]);
  assert.equal(other.code, 2, other.stderr);
  assert.match(other.stderr, /--resume: .*report\.json was made with budget\.batchSize 16, this run has 8; give the same flags, or another --output/);
  const empty = await cli([...args, "--output", join(await tempDir("finetune-compare-none-"), "report"), "--resume"]);
  assert.equal(empty.code, 2, empty.stderr);
  assert.match(empty.stderr, /--resume: no .*report\.json to continue/);
});
