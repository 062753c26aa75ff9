import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { loadSafetensors } from "../../src/io/safetensors.js";
import { AutoModelForMaskedLM } from "../../src/models/auto.js";
import { BertForMaskedLM, BertForSequenceClassification, bertConfig } from "../../src/models/bert/index.js";
import { DistilBertForMaskedLM, DistilBertForSequenceClassification, distilBertConfig } from "../../src/models/distilbert/index.js";
import { Tensor, add, crossEntropy, gelu, layerNorm, linear, manualSeed, reshape } from "../../src/tensor/index.js";
import { assertCloseRel, fixtureDir } from "../helpers/fixtures.js";
import { tempDir } from "../io/fixtures.js";

let dir = "";
let cleanup = async () => {};
before(async () => {
  ({ dir, cleanup } = await tempDir("pretrain-mlm-models"));
});
after(() => cleanup());

const distilConfig = () => distilBertConfig({ vocabSize: 50, dim: 16, nLayers: 2, nHeads: 2, hiddenDim: 32, maxPositionEmbeddings: 24 });
const bertCfg = () => bertConfig({ vocabSize: 50, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 32, maxPositionEmbeddings: 24 });
const ids = [[2, 7, 9, 11, 4, 3], [2, 13, 4, 17, 3, 0]];
const attentionMask = [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0]];
const labels = new Tensor(Int32Array.from([-100, 8, -100, -100, 20, -100, -100, -100, 30, -100, -100, -100]), [2, 6]);

const warnings = () => {
  const seen: string[] = [];
  return { seen, onWarning: (m: string) => seen.push(m) };
};

test("DistilBertForMaskedLM: transformers' key names, projector tied to the word embeddings, HF head formula", () => {
  manualSeed(1);
  const m = new DistilBertForMaskedLM(distilConfig()).eval();
  const keys = [...m.stateDict().keys()];
  for (const k of ["vocab_transform.weight", "vocab_transform.bias", "vocab_layer_norm.weight", "vocab_layer_norm.bias", "vocab_projector.bias", "distilbert.embeddings.word_embeddings.weight"]) {
    assert.ok(keys.includes(k), k);
  }
  assert.equal(m.vocabProjector.weight, m.distilbert.embeddings.wordEmbeddings.weight);
  assert.ok(m.distilbert.embeddings.wordEmbeddings.weight.data.subarray(0, 16).every((x) => x === 0), "tying after init keeps the padding row zero");

  const out = m.forward({ inputIds: ids, attentionMask, labels });
  const h = out.lastHiddenState!;
  const t = layerNorm(gelu(linear(h, m.vocabTransform.weight, m.vocabTransform.bias)), m.vocabLayerNorm.weight, m.vocabLayerNorm.bias, 1e-12);
  const want = linear(t, m.distilbert.embeddings.wordEmbeddings.weight, m.vocabProjector.bias);
  assertCloseRel("logits", out.logits, want, 1e-6);
  const wantLoss = crossEntropy(reshape(want, [12, 50]), reshape(labels, [12]));
  assert.ok(Math.abs(out.loss!.item() - wantLoss.item()) < 1e-5);
  assert.ok(Math.abs(m.maskedLoss({ inputIds: ids, attentionMask, labels }).loss.item() - wantLoss.item()) < 1e-5, "maskedLoss = forward's loss");
});

test("BertForMaskedLM: no pooler, cls.predictions.* names, decoder tied to the embeddings and to cls.predictions.bias", () => {
  manualSeed(2);
  const m = new BertForMaskedLM(bertCfg()).eval();
  const keys = [...m.stateDict().keys()];
  assert.ok(!keys.some((k) => k.includes("pooler")));
  for (const k of ["cls.predictions.bias", "cls.predictions.transform.dense.weight", "cls.predictions.transform.LayerNorm.weight", "cls.predictions.decoder.weight", "bert.encoder.layer.1.output.dense.weight"]) {
    assert.ok(keys.includes(k), k);
  }
  const p = m.cls.predictions;
  assert.equal(p.decoder.weight, m.bert.embeddings.wordEmbeddings.weight);
  assert.equal(p.decoder.bias, p.bias);
  p.bias.data.fill(0.25);
  const out = m.forward({ inputIds: ids, attentionMask, labels });
  const t = layerNorm(gelu(linear(out.lastHiddenState!, p.transform.dense.weight, p.transform.dense.bias)), p.transform.layerNorm.weight, p.transform.layerNorm.bias, 1e-12);
  assertCloseRel("logits", out.logits, add(linear(t, m.bert.embeddings.wordEmbeddings.weight, null), p.bias), 1e-6);
  assert.ok(Math.abs(m.maskedLoss({ inputIds: ids, attentionMask, labels }).loss.item() - out.loss!.item()) < 1e-5);
});

test("savePretrained writes each tied tensor once; AutoModelForMaskedLM loads it back (float32 and float16)", async () => {
  manualSeed(3);
  const m = new DistilBertForMaskedLM(distilConfig()).eval();
  const want = m.forward({ inputIds: ids, attentionMask }).logits;
  for (const dtype of ["float32", "float16"] as const) {
    const out = `${dir}/distil-${dtype}`;
    await m.savePretrained(out, { dtype });
    const { tensors } = await loadSafetensors(`${out}/model.safetensors`);
    assert.ok(!tensors.has("vocab_projector.weight") && tensors.has("vocab_projector.bias"));
    assert.equal(tensors.get("vocab_transform.weight")!.dtype, dtype === "float16" ? "F16" : "F32");
    const w = warnings();
    const back = await AutoModelForMaskedLM.fromPretrained(out, { onWarning: w.onWarning });
    assert.ok(back instanceof DistilBertForMaskedLM);
    assert.deepEqual(w.seen, []);
    assertCloseRel(`logits (${dtype})`, back.forward({ inputIds: ids, attentionMask }).logits, want, dtype === "float16" ? 2e-3 : 1e-6);
  }
  const b = new BertForMaskedLM(bertCfg());
  await b.savePretrained(`${dir}/bert-mlm`);
  const { tensors } = await loadSafetensors(`${dir}/bert-mlm/model.safetensors`);
  assert.ok(tensors.has("cls.predictions.bias") && !tensors.has("cls.predictions.decoder.weight") && !tensors.has("cls.predictions.decoder.bias"));
  assert.ok((await AutoModelForMaskedLM.fromPretrained(`${dir}/bert-mlm`)) instanceof BertForMaskedLM);
});

test("an MLM checkpoint loads into the sequence classifiers: the encoder kept, the new head initialised with the usual warning", async () => {
  manualSeed(4);
  const m = new DistilBertForMaskedLM(distilConfig());
  await m.savePretrained(`${dir}/distil-mlm`);
  const w = warnings();
  const cls = await DistilBertForSequenceClassification.fromPretrained(`${dir}/distil-mlm`, { numLabels: 2, onWarning: w.onWarning });
  assert.deepEqual(cls.distilbert.transformer.layer.items[1].ffn.lin1.weight.data, m.distilbert.transformer.layer.items[1].ffn.lin1.weight.data);
  assert.ok(w.seen.some((s) => /not used when initializing DistilBertForSequenceClassification: \[.*'vocab_transform\.weight'/.test(s)));
  assert.ok(w.seen.some((s) => /newly initialized: \['pre_classifier\.weight', 'pre_classifier\.bias', 'classifier\.weight', 'classifier\.bias'\]/.test(s)));

  const b = new BertForMaskedLM(bertCfg());
  await b.savePretrained(`${dir}/bert-mlm2`);
  const wb = warnings();
  await BertForSequenceClassification.fromPretrained(`${dir}/bert-mlm2`, { numLabels: 2, onWarning: wb.onWarning });
  assert.ok(wb.seen.some((s) => /newly initialized: \['bert\.pooler\.dense\.weight', 'bert\.pooler\.dense\.bias', 'classifier\.weight', 'classifier\.bias'\]/.test(s)));
});

test("a BERT checkpoint with a pooler loads into BertForMaskedLM without a pooler warning; the new head starts with a zero bias", async () => {
  const w = warnings();
  const m = await BertForMaskedLM.fromPretrained(fixtureDir("bert"), { onWarning: w.onWarning });
  // The fixture is a BertForSequenceClassification checkpoint: its classifier is unused, its pooler ignored.
  assert.match(w.seen[0], /not used when initializing BertForMaskedLM: \['classifier\.bias', 'classifier\.weight'\]\n/);
  assert.match(w.seen[1], /newly initialized: \['cls\.predictions\.bias', 'cls\.predictions\.transform\.dense\.weight'/);
  assert.ok(!w.seen.join().includes("pooler") && !w.seen.join().includes("decoder"));
  assert.ok(m.cls.predictions.bias.data.every((x) => x === 0));
});
