import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Example } from "../../src/data/collate.js";
import { loadSafetensors } from "../../src/io/safetensors.js";
import { AutoModelForSequenceClassification, type PreTrainedModel } from "../../src/models/index.js";
import { getPeftModel, peftConfigFromJson } from "../../src/peft/index.js";
import { manualSeed } from "../../src/tensor/index.js";
import { ModelCheckpoint, SequenceClassificationModule, Trainer } from "../../src/train/index.js";
import { fixtureDir, loadJson } from "../helpers/fixtures.js";
import { loader, snapshot, tempDir, uciExamples } from "./helpers/setup.js";

const HEAD = ["classifier.bias", "classifier.weight", "pre_classifier.bias", "pre_classifier.weight"];

async function headOnlyDistilBert(): Promise<PreTrainedModel> {
  const model = await AutoModelForSequenceClassification.fromPretrained(fixtureDir("distilbert"));
  model.requiresGrad(false);
  for (const [name, p] of model.namedParameters()) p.requiresGrad = HEAD.includes(name);
  return model;
}

// The fixture's vocabulary has 512 ids; fold bert-base-uncased ids into it.
const fold = (ex: Example[]) => ex.map((e) => ({ ...e, inputIds: e.inputIds.map((id) => id % 512) }));

test("fine-tunes the fixture DistilBERT's head on real sentences, checkpoints only the head, resumes exactly", async () => {
  const [train, val] = (await Promise.all([uciExamples("train", 64), uciExamples("validation", 32)])).map(fold);
  const run = async (dir: string, ckptPath?: string) => {
    manualSeed(3);
    const model = await headOnlyDistilBert();
    const trainer = new Trainer({ maxEpochs: 2, enableProgressBar: false, seed: 1, callbacks: [new ModelCheckpoint({ dirpath: dir, everyNTrainSteps: 5, saveTopK: -1 })] });
    const module = new SequenceClassificationModule(model, { lr: 1e-2, warmupRatio: 0.2, numLabels: 3 });
    const result = await trainer.fit(module, loader(train, { batchSize: 8, shuffle: true }), loader(val), { ckptPath });
    return { model, result, trainer };
  };
  const aDir = await tempDir();
  const a = await run(aDir);
  assert.equal(a.result.globalStep, 16);
  assert.ok(a.model.training, "dropout was active");
  for (const k of ["val_loss", "val_acc", "val_f1"]) assert.ok(Number.isFinite(a.trainer.callbackMetrics[k]), k);
  assert.deepEqual((await readdir(aDir)).sort(), ["epoch=0-step=5", "epoch=1-step=10", "epoch=1-step=15"]);
  const saved = await loadSafetensors(join(aDir, "epoch=0-step=5", "weights.safetensors"));
  assert.deepEqual([...saved.tensors.keys()].sort(), HEAD);

  const b = await run(await tempDir(), join(aDir, "epoch=0-step=5"));
  assert.equal(b.result.globalStep, 16);
  assert.deepEqual(snapshot(b.model), snapshot(a.model));
});

test("LoRA on the fixture DistilBERT: checkpoints hold only the adapter and head, and resume exactly", async () => {
  const [train, val] = (await Promise.all([uciExamples("train", 48), uciExamples("validation", 16)])).map(fold);
  const run = async (dir: string, ckptPath?: string) => {
    manualSeed(4);
    const config = peftConfigFromJson(loadJson("distilbert", "lora", "adapter_config.json"));
    config.inferenceMode = false;
    const model = getPeftModel(await AutoModelForSequenceClassification.fromPretrained(fixtureDir("distilbert")), config);
    const trainer = new Trainer({ maxEpochs: 1, enableProgressBar: false, callbacks: [new ModelCheckpoint({ dirpath: dir, everyNTrainSteps: 3, saveTopK: -1 })] });
    await trainer.fit(new SequenceClassificationModule(model, { lr: 5e-3, numLabels: 3 }), loader(train, { batchSize: 8, shuffle: true }), loader(val), { ckptPath });
    return model;
  };
  const aDir = await tempDir();
  const a = await run(aDir);
  const trainable = [...a.namedParameters()].filter(([, p]) => p.requiresGrad).map(([n]) => n).sort();
  assert.ok(trainable.some((n) => n.includes("lora_A")) && trainable.some((n) => n.includes("modules_to_save")), trainable.join());
  const saved = await loadSafetensors(join(aDir, "epoch=0-step=3", "weights.safetensors"));
  assert.deepEqual([...saved.tensors.keys()].sort(), trainable);
  const b = await run(await tempDir(), join(aDir, "epoch=0-step=3"));
  assert.deepEqual(snapshot(b), snapshot(a));
});
