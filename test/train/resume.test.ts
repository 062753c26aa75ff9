import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Example } from "../../src/data/collate.js";
import { manualSeed } from "../../src/tensor/index.js";
import { CSVLogger, EarlyStopping, JSONLLogger, ModelCheckpoint, SequenceClassificationModule, Trainer, type Callback } from "../../src/train/index.js";
import { loader, parseCsv, seededModel, snapshot, tempDir, uciExamples } from "./helpers/setup.js";

// 160 rows in batches of 8 with 2-batch accumulation: 10 optimizer steps per epoch, 30 in all; validation every
// half epoch; dropout on, so the resumed run only matches if the RNG state came back too.
function setup(dir: string) {
  const steps = new ModelCheckpoint({ dirpath: join(dir, "steps"), everyNTrainSteps: 4, saveTopK: -1 });
  const best = new ModelCheckpoint({ dirpath: join(dir, "best"), monitor: "val_loss", saveTopK: 2 });
  const stopper = new EarlyStopping({ monitor: "val_loss", patience: 100 });
  const callbacks: Callback[] = [steps, best, stopper];
  const trainer = new Trainer({
    maxEpochs: 3, accumulateGradBatches: 2, valCheckInterval: 0.5, gradientClipVal: 1, seed: 42, logEveryNSteps: 3,
    callbacks, logger: new CSVLogger(dir), enableProgressBar: false,
  });
  const model = seededModel(6, 0.3);
  const module = new SequenceClassificationModule(model, { lr: 0.03, weightDecay: 0.01, warmupRatio: 0.1, schedule: "linear" });
  return { trainer, model, module, steps, best, stopper };
}

async function rows(dir: string) {
  return parseCsv(await readFile(join(dir, "metrics.csv"), "utf8"));
}

test("resuming from a checkpoint reproduces the uninterrupted run bit for bit", async () => {
  const [train, val]: Example[][] = await Promise.all([uciExamples("train", 160), uciExamples("validation", 48)]);
  const aDir = await tempDir();
  const a = setup(aDir);
  const done = await a.trainer.fit(a.module, loader(train, { batchSize: 8, shuffle: true, seed: 9 }), loader(val));
  assert.equal(done.globalStep, 30);
  const final = snapshot(a.model);
  const aRows = await rows(aDir);

  // Step 12 is mid-epoch (epoch 1, batch 4); step 20 ends epoch 1, right after its validation.
  for (const [step, position] of [[12, [1, 4]], [20, [1, 20]]] as const) {
    const ckptPath = join(aDir, "steps", `epoch=1-step=${step}`);
    const saved = JSON.parse(await readFile(join(ckptPath, "trainer_state.json"), "utf8"));
    assert.deepEqual([saved.epoch, saved.batchIdx, saved.globalStep], [...position, step]);

    const bDir = await tempDir();
    manualSeed(12345); // a fresh process would not share the first run's generator state
    const b = setup(bDir);
    assert.notDeepEqual(snapshot(b.model), final);
    const resumed = await b.trainer.fit(b.module, loader(train, { batchSize: 8, shuffle: true, seed: 1 }), loader(val), { ckptPath });
    assert.equal(resumed.globalStep, 30);
    assert.deepEqual(snapshot(b.model), final, `resumed from step ${step}: identical weights`);
    assert.equal(b.stopper.bestScore, a.stopper.bestScore);
    assert.equal(b.stopper.wait, a.stopper.wait);
    assert.equal(b.best.bestModelScore, a.best.bestModelScore);
    assert.deepEqual(Object.values(b.best.bestKModels).sort(), Object.values(a.best.bestKModels).sort());
    const later = (rs: Record<string, number>[]) => rs.filter((r) => r.step > step && r.val_loss !== undefined).map((r) => [r.step, r.val_loss]);
    assert.deepEqual(later(await rows(bDir)), later(aRows));
    const trainLogs = (rs: Record<string, number>[]) => rs.filter((r) => r.step > step && r.val_loss === undefined);
    assert.deepEqual(trainLogs(await rows(bDir)), trainLogs(aRows), "train_loss and train_loss_epoch include the steps before the resume");
  }
});

test("a weights-only checkpoint cannot resume training, and says so", async () => {
  const train = await uciExamples("train", 32);
  const dir = await tempDir();
  const trainer = new Trainer({ maxEpochs: 1, enableProgressBar: false, callbacks: [new ModelCheckpoint({ dirpath: dir, saveWeightsOnly: true })] });
  await trainer.fit(new SequenceClassificationModule(seededModel(7)), loader(train));
  const again = new Trainer({ maxEpochs: 2, enableProgressBar: false });
  await assert.rejects(again.fit(new SequenceClassificationModule(seededModel(7)), loader(train), undefined, { ckptPath: join(dir, "epoch=0-step=2") }), /no optimizer state \(saved weights-only\)/);
});

test("a run resumed in its own folder keeps the metrics logged before the checkpoint and logs the rest once", async () => {
  const [train, val]: Example[][] = await Promise.all([uciExamples("train", 160), uciExamples("validation", 48)]);
  const aDir = await tempDir();
  const a = setup(aDir);
  await a.trainer.fit(a.module, loader(train, { batchSize: 8, shuffle: true, seed: 9 }), loader(val));
  const whole = await readFile(join(aDir, "metrics.csv"), "utf8");

  // The interrupted run's folder: its metrics.csv also holds rows logged after the checkpoint (as when a kill
  // lands between a checkpoint and the next), which the resumed run logs again.
  const bDir = await tempDir();
  await writeFile(join(bDir, "metrics.csv"), whole);
  await writeFile(join(bDir, "metrics.jsonl"), (await rows(aDir)).map((r) => `${JSON.stringify(r)}\n`).join(""));
  manualSeed(12345);
  const b = setup(bDir);
  const jsonl = new JSONLLogger(bDir);
  const trainer = new Trainer({ ...b.trainer.opts, logger: [new CSVLogger(bDir), jsonl] });
  await trainer.fit(b.module, loader(train, { batchSize: 8, shuffle: true, seed: 1 }), loader(val), { ckptPath: join(aDir, "steps", "epoch=1-step=12") });
  assert.equal(await readFile(join(bDir, "metrics.csv"), "utf8"), whole, "metrics.csv: every row once, in order");
  const steps = (await readFile(jsonl.file, "utf8")).trim().split("\n").map((l) => (JSON.parse(l) as { step: number }).step);
  assert.deepEqual(steps, (await rows(aDir)).map((r) => r.step), "metrics.jsonl: every row once, in order");
});

test("a metrics.csv the resume cannot read is an error naming the line, and the file is left as it was", async () => {
  const dir = await tempDir();
  const bad = "epoch,step,train_loss\n0,3,0.5\n0,6,oops\n";
  await writeFile(join(dir, "metrics.csv"), bad);
  await assert.rejects(new CSVLogger(dir).resumeAt(10), /metrics\.csv:3: column "train_loss" is not a number/);
  assert.equal(await readFile(join(dir, "metrics.csv"), "utf8"), bad);
});
