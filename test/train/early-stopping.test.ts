import { test } from "node:test";
import assert from "node:assert/strict";
import { EarlyStopping, SequenceClassificationModule, Trainer } from "../../src/train/index.js";
import { loader, seededModel, uciExamples } from "./helpers/setup.js";

test("EarlyStopping stops after `patience` validations without improvement", async () => {
  const [train, val] = await Promise.all([uciExamples("train", 64), uciExamples("validation", 32)]);
  // lr 0: val_loss never moves, so the first validation sets the best and the next two exhaust patience 2.
  const stopper = new EarlyStopping({ monitor: "val_loss", patience: 2 });
  const trainer = new Trainer({ maxEpochs: 10, enableProgressBar: false, callbacks: [stopper] });
  const result = await trainer.fit(new SequenceClassificationModule(seededModel(4), { lr: 0, schedule: "constant" }), loader(train), loader(val));
  assert.equal(result.stopReason, "stopped");
  assert.match(result.stopMessage!, /val_loss did not improve in the last 2 validations/);
  assert.equal(result.globalStep, 3 * 4);
  assert.equal(result.epoch, 3, "the epoch that triggered the stop still ends");
  assert.equal(stopper.stoppedStep, 12);
  assert.equal(stopper.wait, 2);
});

test("EarlyStopping with mode max and minDelta, and a typo in monitor is reported", async () => {
  const [train, val] = await Promise.all([uciExamples("train", 64), uciExamples("validation", 32)]);
  const stopper = new EarlyStopping({ monitor: "val_acc", mode: "max", patience: 1, minDelta: 1 });
  const trainer = new Trainer({ maxEpochs: 10, enableProgressBar: false, callbacks: [stopper] });
  const result = await trainer.fit(new SequenceClassificationModule(seededModel(4), { lr: 0.05 }), loader(train), loader(val));
  assert.equal(result.globalStep, 2 * 4, "no accuracy gain can exceed 1");

  const typo = new Trainer({ maxEpochs: 1, enableProgressBar: false, callbacks: [new EarlyStopping({ monitor: "val_los" })] });
  await assert.rejects(typo.fit(new SequenceClassificationModule(seededModel(4)), loader(train), loader(val)), /monitored metric "val_los" was not logged; available: .*val_loss/);
});
