// A model built from a config starts as transformers' post_init leaves it, so training from scratch here
// starts where it would in Python: normal(0, initializer_range) weights, zero biases, unit norms, and GPT-2's
// residual projections scaled by 1 / sqrt(2 * n_layer).
import assert from "node:assert/strict";
import { test } from "node:test";
import { BertForSequenceClassification, bertConfig } from "../../src/models/bert/index.js";
import { DistilBertForSequenceClassification, distilBertConfig } from "../../src/models/distilbert/index.js";
import { GPT2LMHeadModel, gpt2Config } from "../../src/models/gpt2/index.js";
import { LlamaForCausalLM, llamaConfig } from "../../src/models/llama/index.js";
import type { PreTrainedModel } from "../../src/models/pretrained.js";
import { manualSeed } from "../../src/tensor/index.js";

function std(data: Float32Array): number {
  const mean = data.reduce((s, v) => s + v, 0) / data.length;
  return Math.sqrt(data.reduce((s, v) => s + (v - mean) ** 2, 0) / data.length);
}

function checkInit(model: PreTrainedModel, weightStd: (name: string) => number): void {
  for (const [name, p] of model.namedParameters()) {
    if (/norm|ln_|LayerNorm/i.test(name)) {
      const expected = name.endsWith("bias") ? 0 : 1;
      assert.ok(p.data.every((v) => v === expected), `${name} should be all ${expected}`);
    } else if (name.endsWith("bias")) {
      assert.ok(p.data.every((v) => v === 0), `${name} should be zero`);
    } else {
      const s = std(p.data as Float32Array), want = weightStd(name);
      assert.ok(Math.abs(s - want) < 0.15 * want, `${name}: std ${s.toFixed(5)}, expected ${want.toFixed(5)}`);
    }
  }
}

test("DistilBERT and BERT from a config: normal(0, 0.02) weights, zero biases, unit LayerNorms", () => {
  manualSeed(0);
  checkInit(new DistilBertForSequenceClassification(distilBertConfig({ vocabSize: 500, dim: 64, nLayers: 2, nHeads: 4, hiddenDim: 128 })), () => 0.02);
  checkInit(new BertForSequenceClassification(bertConfig({ vocabSize: 500, hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 4,
    intermediateSize: 128, initializerRange: 0.05 })), () => 0.05);
});

test("GPT-2 from a config: c_proj weights at 0.02 / sqrt(2 * n_layer), the rest at 0.02", () => {
  manualSeed(0);
  const nLayer = 4;
  checkInit(new GPT2LMHeadModel(gpt2Config({ vocabSize: 500, nEmbd: 64, nLayer, nHead: 4, nPositions: 64 })),
    (name) => (name.endsWith("c_proj.weight") ? 0.02 / Math.sqrt(2 * nLayer) : 0.02));
});

test("Llama from a config: normal(0, 0.02) projections, unit RMSNorms", () => {
  manualSeed(0);
  checkInit(new LlamaForCausalLM(llamaConfig({ vocabSize: 500, hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 128 })), () => 0.02);
});
