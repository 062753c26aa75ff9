// Mistral and Qwen2 checkpoints load as the Llama family; the layer methods must find their blocks too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { extractFeatures, trainLastLayers } from "../../src/methods/index.js";
import { LlamaForSequenceClassification, LlamaModel, llamaConfig } from "../../src/models/index.js";
import { manualSeed } from "../../src/tensor/index.js";
import { loadBertTokenizer } from "./real-data.js";

const tiny = (modelType: "mistral" | "qwen2") => llamaConfig({
  modelType, vocabSize: 30522, hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, numLabels: 2,
});

for (const modelType of ["mistral", "qwen2"] as const) {
  test(`${modelType}: head and last-layers train the score head (and the last block)`, () => {
    manualSeed(0);
    const model = new LlamaForSequenceClassification(tiny(modelType));
    assert.deepEqual(trainLastLayers(model, 0), ["score.weight"]);
    const last = trainLastLayers(model, 1);
    assert.ok(last.includes("model.layers.1.mlp.down_proj.weight") && last.includes("model.norm.weight") && !last.some((n) => n.startsWith("model.layers.0.")));
  });

  test(`${modelType}: features default to the last token`, async () => {
    manualSeed(0);
    const tokenizer = await loadBertTokenizer();
    const model = new LlamaModel(tiny(modelType));
    const x = await extractFeatures(model, tokenizer, ["a fine phone", "bad"]);
    const last = await extractFeatures(model, tokenizer, ["a fine phone", "bad"], { pooling: "last" });
    assert.deepEqual([...x.data], [...last.data]);
  });
}
