// Checklist item 10: a NaN or infinite loss (here: a batch that blows up after a few good steps) stops training with a
// NonFiniteError naming the step, the epoch, the batch and a likely cause; no optimizer step runs on it, and the last
// good checkpoint is named and left exactly as it was. Non-finite gradients are caught before the optimizer step
// (test/train/non-finite.test.ts covers that path, with and without clipping).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { ModelCheckpoint, NonFiniteError, SequenceClassificationModule, Trainer } from "../../src/train/index.js";
import { readCheckpoint } from "../../src/train/checkpoint.js";
import { mul } from "../../src/tensor/index.js";
import { loader, seededModel, snapshot, tempDir, uciExamples } from "../train/helpers/setup.js";

for (const bad of [NaN, Infinity] as const) {
  test(`a ${bad} loss at step 5 stops training, keeps the step-4 checkpoint and names it`, async () => {
    const train = await uciExamples("train", 64);
    const dir = await tempDir();
    after(() => rm(dir, { recursive: true, force: true }));
    const model = seededModel(5);
    const module = new SequenceClassificationModule(model, { lr: 0.01 });
    const step = module.trainingStep.bind(module);
    let calls = 0;
    // The 5th batch's loss is multiplied by NaN or Infinity: a data or numerics fault after 4 good steps.
    module.trainingStep = (batch) => {
      const out = step(batch);
      return ++calls === 5 ? { ...out, loss: mul(out.loss, bad) } : out;
    };
    let atStep4: Map<string, Float32Array> | undefined;
    const trainer = new Trainer({
      maxEpochs: 2, enableProgressBar: false, logger: false,
      callbacks: [
        new ModelCheckpoint({ dirpath: dir, everyNTrainSteps: 2, saveTopK: 0, saveLast: true }),
        { onTrainStepEnd: (t) => { if (t.globalStep === 4) atStep4 = snapshot(model); } },
      ],
    });
    const err = await trainer.fit(module, loader(train, { batchSize: 8 })).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof NonFiniteError, `expected NonFiniteError, got ${String(err)}`);
    const last = join(dir, "last");
    assert.equal(err.message, `loss is ${bad} at step 5 (epoch 0, batch 4): the learning rate 1e-2 may be too high; lower it or set gradientClipVal; the last good checkpoint is at ${last}`);
    assert.equal(err.step, 5);
    assert.equal(err.lastCheckpoint, last);
    // No optimizer step ran on the bad loss: the weights are those after step 4, and finite.
    assert.deepEqual(snapshot(model), atStep4);
    for (const p of model.parameters()) assert.equal(p.grad, null, "the poisoned gradients were dropped");
    // The named checkpoint is the step-4 one, untouched by the failure, with the same weights.
    const kept = await readCheckpoint(last);
    assert.equal(kept.state.globalStep, 4);
    for (const [name, t] of kept.weights) assert.deepEqual(Float32Array.from(t.data), atStep4!.get(name), name);
    assert.deepEqual((await readdir(dir)).sort(), ["last"], "no half-written checkpoint next to it");
  });
}
