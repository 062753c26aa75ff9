import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, readdir, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadSafetensors } from "../../src/io/safetensors.js";
import { CSVLogger, ModelCheckpoint, SequenceClassificationModule, Trainer } from "../../src/train/index.js";
import { OPTIMIZER_FILE, WEIGHTS_FILE, readCheckpoint, writeCheckpoint } from "../../src/train/checkpoint.js";
import { defaultGenerator } from "../../src/tensor/index.js";
import { loader, parseCsv, seededModel, snapshot, tempDir, uciExamples } from "./helpers/setup.js";

test("ModelCheckpoint keeps the top-k by val_loss, plus last, and nothing half-written", async () => {
  const [train, val] = await Promise.all([uciExamples("train", 320), uciExamples("validation", 96)]);
  const dir = await tempDir(), ckDir = join(dir, "ck");
  const ckpt = new ModelCheckpoint({ dirpath: ckDir, monitor: "val_loss", saveTopK: 2, saveLast: true, filename: "{epoch}-{step}-{val_loss:.4f}" });
  const byAcc = new ModelCheckpoint({ dirpath: join(dir, "by-acc"), monitor: "val_acc", mode: "max" });
  const trainer = new Trainer({ maxEpochs: 2, valCheckInterval: 0.25, logger: new CSVLogger(dir), enableProgressBar: false, callbacks: [ckpt, byAcc] });
  const result = await trainer.fit(new SequenceClassificationModule(seededModel(1, 0.1), { lr: 0.05 }), loader(train, { shuffle: true }), loader(val));

  const vals = parseCsv(await readFile(join(dir, "metrics.csv"), "utf8")).filter((r) => r.val_loss !== undefined);
  assert.equal(vals.length, 8, "validation every quarter epoch");
  const best2 = [...vals].sort((a, b) => a.val_loss - b.val_loss).slice(0, 2);
  const expected = best2.map((r) => `epoch=${r.epoch}-step=${r.step}-val_loss=${r.val_loss.toFixed(4)}`);
  assert.deepEqual((await readdir(ckDir)).sort(), [...expected, "last"].sort());
  assert.deepEqual(ckpt.savedPaths.sort(), expected.map((e) => join(ckDir, e)).sort());
  assert.equal(ckpt.bestModelPath, join(ckDir, expected[0]));
  assert.equal(ckpt.bestModelScore, best2[0].val_loss);
  assert.equal(result.bestModelPath, ckpt.bestModelPath);
  const last = await readCheckpoint(join(ckDir, "last"));
  assert.equal(last.state.globalStep, 40);
  assert.deepEqual([last.state.epoch, last.state.batchIdx], [1, 20], "saved at the last validation, before the epoch's end hooks");
  const bestAcc = Math.max(...vals.map((r) => r.val_acc));
  assert.equal(byAcc.bestModelScore, bestAcc);
  assert.equal((await readdir(join(dir, "by-acc"))).length, 1);

  // The best checkpoint holds the weights of its step: test() with ckptPath "best" reproduces its val_loss.
  const [again] = await trainer.validate(new SequenceClassificationModule(seededModel(99)), loader(val), { ckptPath: "best" });
  assert.ok(Math.abs(again.val_loss - best2[0].val_loss) < 1e-6, `${again.val_loss} vs ${best2[0].val_loss}`);
});

test("a head-only run checkpoints just the trainable head (weights and optimizer state)", async () => {
  const [train, val] = await Promise.all([uciExamples("train", 128), uciExamples("validation", 32)]);
  const dir = await tempDir();
  const model = seededModel(2);
  model.embed.requiresGrad(false);
  const frozen = snapshot(model).get("embed.weight")!;
  const trainer = new Trainer({ maxEpochs: 1, enableProgressBar: false, callbacks: [new ModelCheckpoint({ dirpath: dir, saveLast: true })] });
  await trainer.fit(new SequenceClassificationModule(model, { lr: 0.01 }), loader(train), loader(val));
  assert.deepEqual(snapshot(model).get("embed.weight"), frozen);
  const weights = await loadSafetensors(join(dir, "last", WEIGHTS_FILE));
  assert.deepEqual([...weights.tensors.keys()].sort(), ["classifier.bias", "classifier.weight"]);
  assert.ok((await stat(join(dir, "last", WEIGHTS_FILE))).size < 512, "a head of 18 floats, not the 30522x8 embedding");
  const opt = await loadSafetensors(join(dir, "last", OPTIMIZER_FILE));
  assert.deepEqual([...opt.tensors.keys()].sort(), ["classifier.bias.expAvg", "classifier.bias.expAvgSq", "classifier.weight.expAvg", "classifier.weight.expAvgSq"]);
  assert.deepEqual((await readdir(dir)).sort(), ["epoch=0-step=8", "last"]);
});

test("a crash while writing a checkpoint leaves the previous one readable", async () => {
  const dir = join(await tempDir(), "last");
  const model = seededModel(3);
  const state = { epoch: 0, batchIdx: 4, globalStep: 4, rng: defaultGenerator.getState(), callbacks: {}, epochLoss: { sum: 0, count: 0 }, logWindow: {}, metrics: {} };
  await writeCheckpoint(dir, { model, state });
  // Killed while writing the next one: a partial <dir>.tmp.
  await mkdir(`${dir}.tmp`);
  await writeFile(join(`${dir}.tmp`, WEIGHTS_FILE), "partial");
  assert.equal((await readCheckpoint(dir)).state.globalStep, 4);
  // Killed between the two renames: only <dir>.old is there.
  await rename(dir, `${dir}.old`);
  const fallback = await readCheckpoint(dir);
  assert.equal(fallback.dir, `${dir}.old`);
  assert.deepEqual(fallback.weights.get("classifier.weight")!.data, model.classifier.weight.data);
  // The next save cleans both up.
  await writeCheckpoint(dir, { model, state: { ...state, globalStep: 8 } });
  assert.equal((await readCheckpoint(dir)).state.globalStep, 8);
  assert.deepEqual((await readdir(join(dir, ".."))).sort(), ["last"]);
});
