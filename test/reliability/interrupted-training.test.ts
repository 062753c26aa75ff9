// Checklist item 9: a training process killed at the worst moments, with SIGKILL (no chance to clean up), loses at
// most the steps since its last checkpoint: the previous checkpoint stays readable, and resuming from it reaches the
// very same final weights, bit for bit, as a run that was never interrupted. The kill points inside a checkpoint
// write are made deterministic with the FINETUNE_TEST_CHECKPOINT_PAUSE hook of src/train/checkpoint.ts. SIGINT saves
// a checkpoint and exits cleanly (also test/train/sigint.test.ts), and resuming after it reaches the same weights too.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readCheckpoint } from "../../src/train/checkpoint.js";
import { ROOT, tempDir } from "./helpers/common.js";

const CHILD = fileURLToPath(new URL("./helpers/train-child.ts", import.meta.url));
const MAX_STEPS = 12; // as in helpers/train-child.ts, which checkpoints every 3 steps

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  killed: boolean;
}

/** Runs the child; `killWhen` sees stdout and stderr so far and returns a signal to send, once. */
function run(out: string, opts: { resume?: boolean; env?: Record<string, string>; killWhen?: (stdout: string, stderr: string) => NodeJS.Signals | null } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const args = ["--import", "tsx", CHILD, out, ...(opts.resume ? ["--resume"] : [])];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } });
    let stdout = "", stderr = "", killed = false;
    const check = () => {
      if (killed || !opts.killWhen) return;
      const sig = opts.killWhen(stdout, stderr);
      if (sig) { killed = true; child.kill(sig); }
    };
    child.stdout.on("data", (d: Buffer) => { stdout += d; check(); });
    child.stderr.on("data", (d: Buffer) => { stderr += d; check(); });
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("close", (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, killed }); });
  });
}

const doneOf = (r: Run) => JSON.parse(/^done (.*)$/m.exec(r.stdout)?.[1] ?? "null") as { globalStep: number; stopReason: string; resumedFrom: string | null } | null;

// The scenarios are independent child processes: run them side by side.
describe("interrupted training", { concurrency: 3 }, () => {
  let reference: Buffer;
  let dirs: string[] = [];
  before(async () => {
    const { dir } = await tempDir("uninterrupted");
    dirs.push(dir);
    const r = await run(dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(doneOf(r)?.globalStep, MAX_STEPS);
    reference = await readFile(join(dir, "final.safetensors"));
  });
  after(async () => {
    const { rm } = await import("node:fs/promises");
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function killedThenResumed(name: string, killWhen: (stdout: string, stderr: string) => NodeJS.Signals | null, env: Record<string, string> = {}) {
    const { dir } = await tempDir(name);
    dirs.push(dir);
    const first = await run(dir, { env, killWhen });
    assert.ok(first.killed, `the kill point was never reached: ${first.stdout} ${first.stderr}`);
    const resumed = await run(dir, { resume: true });
    assert.equal(resumed.code, 0, resumed.stderr);
    return { dir, first, resumed };
  }

  for (const stage of ["after-weights", "before-rename", "between-renames"] as const) {
    test(`SIGKILL during a checkpoint write (${stage}): the previous checkpoint is intact and resuming ends bit-identical`, { timeout: 240_000 }, async () => {
      // The 2nd write of "last" (at step 6) is the one interrupted: the one from step 3 must survive.
      const pausedAt = (_: string, stderr: string) => (stderr.includes(`paused at ${stage} of checkpoint write 2`) ? "SIGKILL" : null);
      const { dir } = await tempDir(`kill-${stage}`);
      dirs.push(dir);
      const first = await run(dir, { env: { FINETUNE_TEST_CHECKPOINT_PAUSE: `2:${stage}` }, killWhen: pausedAt });
      assert.ok(first.killed, `never paused: ${first.stderr}`);
      assert.equal(first.signal, "SIGKILL");
      const checkpoints = join(dir, "checkpoints");
      const left = (await readdir(checkpoints)).sort();
      assert.deepEqual(left, stage === "between-renames" ? ["last.old", "last.tmp"] : ["last", "last.tmp"], "what the crash left");
      const kept = await readCheckpoint(join(checkpoints, "last"));
      assert.equal(kept.state.globalStep, 3, "the checkpoint of step 3 is the one read back");
      assert.ok(kept.optimizerBuffers && kept.optimizerBuffers.size > 0);
      for (const [name, t] of kept.weights) assert.ok(t.data.every(Number.isFinite), name);

      const resumed = await run(dir, { resume: true });
      assert.equal(resumed.code, 0, resumed.stderr);
      const done = doneOf(resumed)!;
      assert.equal(done.globalStep, MAX_STEPS);
      assert.equal(done.resumedFrom, join(checkpoints, "last"));
      assert.match(resumed.stdout, /^step 4$/m, "training continued after step 3");
      assert.ok((await readFile(join(dir, "final.safetensors"))).equals(reference), "final weights differ from the uninterrupted run");
      assert.deepEqual((await readdir(checkpoints)).sort(), ["last"], "the next save cleaned up .tmp and .old");
    });
  }

  test("SIGKILL at an arbitrary step: resuming from the last checkpoint ends bit-identical", { timeout: 240_000 }, async () => {
    const { dir, first } = await killedThenResumed("kill-step", (stdout) => (/^step 8$/m.test(stdout) ? "SIGKILL" : null));
    assert.equal(first.signal, "SIGKILL");
    assert.ok((await readFile(join(dir, "final.safetensors"))).equals(reference));
  });

  test("SIGINT saves a checkpoint, exits cleanly, and resuming from it ends bit-identical", { timeout: 240_000 }, async () => {
    const { dir, first, resumed } = await killedThenResumed("sigint", (stdout) => (/^step 4$/m.test(stdout) ? "SIGINT" : null));
    assert.equal(first.code, 0, `a clean exit after SIGINT: ${first.stderr}`);
    const interrupted = doneOf(first)!;
    assert.equal(interrupted.stopReason, "interrupted");
    assert.match(first.stderr, /Interrupted by SIGINT at step \d+ .* checkpoint saved to /);
    assert.equal(existsSync(join(dir, "final.safetensors")), true);
    assert.equal((await readCheckpoint(join(dir, "checkpoints", "last"))).state.globalStep >= interrupted.globalStep, true);
    assert.equal(doneOf(resumed)!.globalStep, MAX_STEPS);
    assert.ok((await readFile(join(dir, "final.safetensors"))).equals(reference));
  });
});
