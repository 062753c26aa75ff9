import { test } from "node:test";
import assert from "node:assert/strict";
import { formatCheckpointName } from "../../src/train/callbacks/model-checkpoint.js";
import { formatLr, nonFiniteError } from "../../src/train/faults.js";
import { ProgressReporter, formatDuration, formatProgress } from "../../src/train/progress.js";

test("checkpoint names follow Lightning's templates", () => {
  assert.equal(formatCheckpointName("{epoch}-{step}", { epoch: 2, step: 300 }), "epoch=2-step=300");
  assert.equal(formatCheckpointName("best-{epoch}-{val_loss:.3f}", { epoch: 1, val_loss: 0.41234 }), "best-epoch=1-val_loss=0.412");
  assert.throws(() => formatCheckpointName("{val_acc}", { epoch: 0 }), /no metric "val_acc"/);
});

test("fault messages name the step, epoch, cause and last checkpoint", () => {
  assert.equal(formatLr(0.05), "5e-2");
  assert.equal(formatLr(2e-5), "2e-5");
  assert.equal(formatLr(1), "1e0");
  const e = nonFiniteError("loss is NaN", { step: 37, epoch: 2, batches: [4, 4], stepsDone: 36, baseLr: 0.05, clipping: false, clipName: "gradientClipVal", lastCheckpoint: "/ck/last" });
  assert.equal(e.message, "loss is NaN at step 37 (epoch 2, batch 4): the learning rate 5e-2 may be too high; lower it or set gradientClipVal; the last good checkpoint is at /ck/last");
  assert.equal(e.step, 37);
  const first = nonFiniteError("loss is Infinity", { step: 1, epoch: 0, batches: [0, 1], stepsDone: 0, baseLr: 1e-3, clipping: true, clipName: "gradientClipVal", lastCheckpoint: null });
  assert.match(first.message, /^loss is Infinity at step 1 \(epoch 0, batches 0-1\): no weight has been updated yet.*no checkpoint was saved/);
});

test("progress lines: rates, ETA, and a bar only when asked", () => {
  assert.equal(formatDuration(9), "0:09");
  assert.equal(formatDuration(3725), "1:02:05");
  const p = { epoch: 0, maxEpochs: 3, step: 10, total: 40, loss: 0.41234, elapsedSec: 5, stepsDone: 10, samplesDone: 160 };
  assert.equal(formatProgress(p, 0), "epoch 0/3 10/40 loss 0.4123 | 2.00 it/s 32.0 samples/s | ETA 0:15");
  assert.equal(formatProgress(p, 8), "epoch 0/3 [==>     ] 10/40 loss 0.4123 | 2.00 it/s 32.0 samples/s | ETA 0:15");

  const lines: string[] = [];
  const plain = new ProgressReporter({ write: (s: string) => lines.push(s) });
  for (let step = 1; step <= 20; step++) plain.update({ ...p, step, total: 20 });
  assert.equal(lines.length, 10, "every 10% of the epoch when not a terminal");
  assert.ok(lines.every((l) => l.endsWith("\n") && !l.includes("\r")));

  const tty: string[] = [];
  const ci = process.env.CI;
  delete process.env.CI;
  const live = new ProgressReporter({ write: (s: string) => tty.push(s), isTTY: true, columns: 120 });
  if (ci !== undefined) process.env.CI = ci;
  live.update({ ...p, step: 20, total: 20 });
  live.message("val_loss=0.5");
  assert.ok(tty[0].startsWith("\r\x1b[2Kepoch 0/3 ["));
  assert.ok(tty.join("").includes("val_loss=0.5\n"));
  const off = new ProgressReporter({ write: (s: string) => tty.push(s) }, false);
  const before = tty.length;
  off.update(p);
  off.message("quiet");
  off.message("loud", true);
  assert.deepEqual(tty.slice(before), ["loud\n"]);
});
