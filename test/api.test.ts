import { test } from "node:test";
import assert from "node:assert/strict";
import * as ft from "../src/index.js";

test("the package root exports the user-facing API", () => {
  for (const name of [
    "Tensor", "tensor", "noGrad", "manualSeed", "nn", "optim", "io", "loadSafetensors", "saveSafetensors",
    "AutoModel", "AutoModelForSequenceClassification", "AutoModelForCausalLM", "AutoConfig", "AutoTokenizer",
    "getPeftModel", "PeftModel", "LoraConfig", "PromptTuningConfig", "PromptEncoderConfig", "PrefixTuningConfig",
    "IA3Config", "AdapterConfig", "freeze", "unfreeze", "trainLastLayers", "extractFeatures", "LogisticRegression",
    "MLPClassifier", "printTrainableParameters", "Trainer", "SequenceClassificationModule", "CausalLMModule",
    "ModelCheckpoint", "EarlyStopping", "DataLoader", "loadDataFiles", "setGradientCheckpointing", "checkpoint",
  ]) {
    assert.ok(name in ft, `missing export ${name}`);
  }
  assert.equal(typeof new ft.nn.Linear(2, 3).forward, "function");
  assert.equal(typeof ft.optim.AdamW, "function");
});
