import assert from "node:assert/strict";
import { test } from "node:test";
import { BertForSequenceClassification, bertConfig } from "../../src/models/bert/index.js";
import { DistilBertForSequenceClassification } from "../../src/models/distilbert/index.js";
import { classificationLoss } from "../../src/models/heads.js";
import { manualSeed, ones, randn, tensor, zeros } from "../../src/tensor/index.js";
import { fixtureDir, loadInputs } from "../helpers/fixtures.js";
import { gradcheck, randn64 } from "../helpers/gradcheck.js";

const labels3 = (problemType: "regression" | "multi_label_classification" | null, numLabels = 3) =>
  ({ id2label: {}, label2id: {}, numLabels, problemType });

test("regression (one label) is MSE; float [batch, labels] targets are multi-label BCE", () => {
  const logits = tensor([[0.5], [-1.0]]);
  assert.ok(Math.abs(classificationLoss(logits, [1.5, 0], labels3(null, 1)).item() - (1 + 1) / 2) < 1e-7);
  const x = tensor([[2, -1, 0], [0.5, 3, -2]]), y = [[1, 0, 1], [0, 1, 0]];
  let ref = 0;
  x.data.forEach((v, i) => { const t = y.flat()[i]; ref += -(t * Math.log(1 / (1 + Math.exp(-v))) + (1 - t) * Math.log(1 - 1 / (1 + Math.exp(-v)))); });
  assert.ok(Math.abs(classificationLoss(x, y, labels3(null)).item() - ref / 6) < 1e-6);
  gradcheck("bce", (l) => classificationLoss(l, tensor(y, { dtype: "float64" }), labels3("multi_label_classification")), [randn64([2, 3])]);
  gradcheck("mse", (l) => classificationLoss(l, tensor([0.3, -2], { dtype: "float64" }), labels3("regression", 1)), [randn64([2, 1])]);
});

test("dropout is active in train() and off in eval()", async () => {
  const m = await DistilBertForSequenceClassification.fromPretrained(fixtureDir("distilbert"));
  const inputs = loadInputs("distilbert");
  assert.deepEqual(m.forward(inputs).logits.data, m.forward(inputs).logits.data);
  m.train();
  manualSeed(1);
  const a = m.forward(inputs).logits.data;
  assert.notDeepEqual(a, m.forward(inputs).logits.data);
});

test("inputs are checked with clear messages", async () => {
  const m = new BertForSequenceClassification(bertConfig({ vocabSize: 20, hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 16, maxPositionEmbeddings: 8 }));
  m.eval();
  const ids = [[1, 2, 3]];
  assert.throws(() => m.forward({}), /exactly one of inputIds and inputsEmbeds/);
  assert.throws(() => m.forward({ inputIds: ids, attentionMask: [[1, 1]] }), /attentionMask must be \[batch, pastLength \+ seq\] = \[1, 3\], got \[1,2\]/);
  assert.throws(() => m.forward({ inputIds: [[1, 2, 3, 4, 5, 6, 7, 8, 9]] }), /exceeds max_position_embeddings \(8\)/);
  assert.throws(() => m.forward({ inputIds: [[1, 99]] }), /index 99 out of range/);
  const past = { key: zeros([1, 2, 2, 4]), value: zeros([1, 2, 2, 4]) };
  assert.throws(() => m.forward({ inputIds: ids, pastKeyValues: [past] }), /pastKeyValues has 1 layers; the model has 2/);
  assert.throws(() => m.forward({ inputIds: ids, pastKeyValues: [past, { key: zeros([1, 2, 2, 3]), value: zeros([1, 2, 2, 3]) }], attentionMask: ones([1, 5]) }),
    /pastKeyValues key has shape \[1,2,2,3\]; expected \[1, 2, pastLength, 4\]/);
  const out = m.forward({ inputsEmbeds: randn([1, 3, 8]), pastKeyValues: [past, past], attentionMask: ones([1, 5]), labels: [1] });
  assert.deepEqual(out.logits.shape, [1, 2]);
  assert.ok(Number.isFinite(out.loss!.item()));
});
