import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readCheckpoint } from "../../src/train/checkpoint.js";
import { tempDir } from "./helpers/setup.js";

const CHILD = fileURLToPath(new URL("./helpers/sigint-child.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

test("SIGINT finishes the current step, saves a resumable checkpoint and returns cleanly", { timeout: 120_000 }, async () => {
  const dir = await tempDir();
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "", sent = false;
  child.stdout.on("data", (d: Buffer) => {
    stdout += d;
    if (!sent && /^step 3$/m.test(stdout)) { sent = true; child.kill("SIGINT"); }
  });
  child.stderr.on("data", (d: Buffer) => { stderr += d; });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.equal(code, 0, `exit code (stderr: ${stderr})`);
  assert.ok(sent, "training reached step 3");
  const result = JSON.parse(/^result (.*)$/m.exec(stdout)![1]);
  assert.equal(result.stopReason, "interrupted");
  assert.ok(result.globalStep >= 3);
  const steps = [...stdout.matchAll(/^step (\d+)$/gm)].map((m) => Number(m[1]));
  assert.equal(steps.at(-1), result.globalStep, "the interrupted step completed");
  const last = join(dir, "checkpoints", "last");
  assert.equal(result.lastCheckpoint, last);
  assert.match(stderr, /SIGINT received: finishing the current step/);
  assert.ok(stderr.includes(`Interrupted by SIGINT at step ${result.globalStep} (epoch ${result.epoch}); checkpoint saved to ${last}.`), stderr);
  const ck = await readCheckpoint(last);
  assert.equal(ck.state.globalStep, result.globalStep);
  assert.ok(ck.optimizerBuffers && ck.optimizerBuffers.size > 0, "optimizer state saved, so it can resume");
});
