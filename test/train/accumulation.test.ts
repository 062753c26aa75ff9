import { test } from "node:test";
import assert from "node:assert/strict";
import { SequenceClassificationModule, Trainer } from "../../src/train/index.js";
import { loader, maxDiff, seededModel, snapshot, uciExamples } from "./helpers/setup.js";

test("accumulating 2 batches of 4 gives the weights of 1 batch of 8", async () => {
  const train = await uciExamples("train", 96);
  const run = async (batchSize: number, accumulateGradBatches: number) => {
    const model = seededModel(5);
    const trainer = new Trainer({ maxEpochs: 2, accumulateGradBatches, enableProgressBar: false });
    // Same seed and shuffle: batches of 4 are the halves of the batches of 8.
    const result = await trainer.fit(new SequenceClassificationModule(model, { optimizer: "sgd", lr: 0.5, momentum: 0.9, schedule: "linear", warmupSteps: 3 }), loader(train, { batchSize, shuffle: true, seed: 1 }));
    return { weights: snapshot(model), steps: result.globalStep };
  };
  const whole = await run(8, 1), halves = await run(4, 2), once = await run(4, 1);
  assert.equal(whole.steps, 24);
  assert.equal(halves.steps, 24);
  const d = maxDiff(whole.weights, halves.weights);
  assert.ok(d < 1e-6, `max weight difference ${d}`);
  assert.ok(maxDiff(whole.weights, once.weights) > 1e-3, "without accumulation the run differs");
});

test("an epoch whose batch count is not a multiple of the accumulation steps ends with a shorter group", async () => {
  const train = await uciExamples("train", 40);
  const trainer = new Trainer({ maxEpochs: 1, accumulateGradBatches: 4, enableProgressBar: false });
  const result = await trainer.fit(new SequenceClassificationModule(seededModel(5), { lr: 0.01 }), loader(train, { batchSize: 8 }));
  assert.equal(result.globalStep, 2, "5 batches: a group of 4, then a group of 1");
});
