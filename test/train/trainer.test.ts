import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CSVLogger, JSONLLogger, LearningRateMonitor, SequenceClassificationModule, Trainer } from "../../src/train/index.js";
import { loader, parseCsv, seededModel, tempDir, uciExamples } from "./helpers/setup.js";

test("loss falls over 2 epochs; validation and test metrics are logged like Lightning's CSVLogger", async () => {
  const [train, val] = await Promise.all([uciExamples("train", 320), uciExamples("validation", 96)]);
  const dir = await tempDir();
  const model = seededModel(0, 0.1);
  const module = new SequenceClassificationModule(model, { lr: 0.05, schedule: "constant" });
  const trainer = new Trainer({ maxEpochs: 2, logger: [new CSVLogger(dir), new JSONLLogger(dir)], logEveryNSteps: 5, enableProgressBar: false, seed: 0, callbacks: [new LearningRateMonitor()] });
  const result = await trainer.fit(module, loader(train, { shuffle: true }), loader(val));
  assert.equal(result.stopReason, "max_epochs");
  assert.equal(result.globalStep, 40);
  assert.equal(result.epoch, 2);

  const rows = parseCsv(await readFile(join(dir, "metrics.csv"), "utf8"));
  const header = (await readFile(join(dir, "metrics.csv"), "utf8")).split("\n")[0].split(",");
  assert.deepEqual(header, [...header].sort(), "columns are sorted");
  for (const c of ["epoch", "step", "train_loss", "train_acc", "train_loss_epoch", "val_loss", "val_acc", "val_f1", "val_precision", "val_recall", "lr-AdamW/pg1"]) {
    assert.ok(header.includes(c), `metrics.csv has a ${c} column`);
  }
  const epochLoss = rows.filter((r) => r.train_loss_epoch !== undefined);
  assert.deepEqual(epochLoss.map((r) => [r.epoch, r.step]), [[0, 20], [1, 40]]);
  assert.ok(epochLoss[1].train_loss_epoch < epochLoss[0].train_loss_epoch, `train loss fell: ${epochLoss.map((r) => r.train_loss_epoch)}`);
  const vals = rows.filter((r) => r.val_loss !== undefined);
  assert.deepEqual(vals.map((r) => r.step), [20, 40]);
  for (const v of vals) for (const k of ["val_acc", "val_f1", "val_precision", "val_recall"]) assert.ok(v[k] >= 0 && v[k] <= 1, `${k} = ${v[k]}`);
  assert.equal(rows.filter((r) => r.train_loss !== undefined).length, 8, "train metrics every 5 steps");
  assert.equal(Object.keys(trainer.callbackMetrics).includes("val_f1"), true);

  const jsonl = (await readFile(join(dir, "metrics.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(jsonl.filter((r) => r.val_loss !== undefined).length, 2);
  assert.equal(JSON.parse(await readFile(join(dir, "hparams.json"), "utf8")).lr, 0.05);

  const [testMetrics] = await trainer.test(module, loader(await uciExamples("test", 64)));
  assert.deepEqual(Object.keys(testMetrics).sort(), ["test_acc", "test_f1", "test_loss", "test_precision", "test_recall"]);
  assert.ok(testMetrics.test_acc > 0.5, `test accuracy ${testMetrics.test_acc}`);
});

test("maxSteps, limitTrainBatches, step-count validation and predict", async () => {
  const [train, val] = await Promise.all([uciExamples("train", 320), uciExamples("validation", 40)]);
  const module = new SequenceClassificationModule(seededModel(1), { lr: 0.01 });
  const plans: number[] = [];
  const configure = module.configureOptimizers.bind(module);
  module.configureOptimizers = (plan) => { plans.push(plan.totalSteps); return configure(plan); };
  const dir = await tempDir();
  const trainer = new Trainer({ maxSteps: 7, limitTrainBatches: 0.5, valCheckInterval: 3, logger: new CSVLogger(dir), enableProgressBar: false });
  const result = await trainer.fit(module, loader(train, { shuffle: true }), loader(val));
  assert.deepEqual([result.stopReason, result.globalStep, result.epoch], ["max_steps", 7, 0]);
  assert.deepEqual(plans, [7], "the schedule spans maxSteps");
  const rows = parseCsv(await readFile(join(dir, "metrics.csv"), "utf8"));
  assert.deepEqual(rows.filter((r) => r.val_loss !== undefined).map((r) => r.step), [3, 6]);

  const preds = await trainer.predict<unknown, { indices: number[]; predictions: number[]; probabilities: number[][] }>(module, loader(val));
  assert.deepEqual(preds.flatMap((p) => p.indices), val.map((_, i) => i));
  for (const p of preds) {
    p.probabilities.forEach((row, i) => {
      assert.ok(Math.abs(row[0] + row[1] - 1) < 1e-6);
      assert.equal(p.predictions[i], row[1] > row[0] ? 1 : 0);
    });
  }
});
