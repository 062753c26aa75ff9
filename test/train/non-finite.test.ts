import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ModelCheckpoint, NonFiniteError, SequenceClassificationModule, Trainer } from "../../src/train/index.js";
import { readCheckpoint } from "../../src/train/checkpoint.js";
import { loader, seededModel, tempDir, uciExamples } from "./helpers/setup.js";

test("a huge learning rate stops training at the first NaN, naming the step, the cause and the last good checkpoint", async () => {
  const train = await uciExamples("train", 64);
  const dir = await tempDir();
  const ckpt = new ModelCheckpoint({ dirpath: dir, everyNTrainSteps: 1, saveLast: true });
  const trainer = new Trainer({ maxEpochs: 3, enableProgressBar: false, callbacks: [ckpt] });
  const model = seededModel(8);
  const module = new SequenceClassificationModule(model, { optimizer: "sgd", lr: 1e30, schedule: "constant" });
  const err = await trainer.fit(module, loader(train, { batchSize: 8 })).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof NonFiniteError, `got ${err}`);
  const last = join(dir, "last");
  assert.equal(err.message, `loss is NaN at step 2 (epoch 0, batch 1): the learning rate 1e30 may be too high; lower it or set gradientClipVal; the last good checkpoint is at ${last}`);
  assert.equal(err.step, 2);
  assert.equal(err.lastCheckpoint, last);
  const kept = await readCheckpoint(last);
  assert.equal(kept.state.globalStep, 1);
  for (const [name, t] of kept.weights) assert.ok(t.data.every(Number.isFinite), `${name} is finite in the checkpoint`);
  for (const p of model.parameters()) assert.equal(p.grad, null, "no poisoned gradients are left behind");
});

test("non-finite gradients are caught before the optimizer step, with clipping on too", async () => {
  const train = await uciExamples("train", 16);
  const model = seededModel(8);
  const before = Float32Array.from(model.classifier.weight.data);
  // A finite loss with a NaN gradient: d sqrt(0 * w) / dw = 0 * (1 / 0).
  const module = new SequenceClassificationModule(model);
  const step = module.trainingStep.bind(module);
  module.trainingStep = (batch) => {
    const out = step(batch);
    return { ...out, loss: out.loss.add(model.classifier.weight.mul(0).sqrt().sum()) };
  };
  for (const gradientClipVal of [undefined, 1]) {
    const trainer = new Trainer({ maxEpochs: 1, enableProgressBar: false, gradientClipVal });
    await assert.rejects(trainer.fit(module, loader(train, { batchSize: 8 })), (e: Error) => {
      assert.match(e.message, /^the gradient of classifier\.weight is NaN at step 1 \(epoch 0, batch 0\): no weight has been updated yet/);
      return true;
    });
  }
  assert.deepEqual(model.classifier.weight.data, before, "the optimizer never stepped");
});
