// ModernBERT against its fixture (both backends, every method), and what the fixture does not cover: the newer
// config format, "cls" pooling, the masked LM, the window mask itself, ModernBERT's init and pretraining.
import assert from "node:assert/strict";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadSafetensorsSync } from "../../src/io/safetensors.js";
import { AutoModelForMaskedLM } from "../../src/models/auto.js";
import { FLOAT32_MIN } from "../../src/models/attention.js";
import {
  ModernBertForMaskedLM, ModernBertForSequenceClassification, ModernBertModel, modernBertConfig, parseModernBertConfig,
} from "../../src/models/modernbert/index.js";
import { modernBertMasks } from "../../src/models/modernbert/modeling.js";
import { pretrain } from "../../src/pretrain/index.js";
import { estimateTrainingMemory } from "../../src/train/memory-estimate.js";
import { Generator, Tensor, add, crossEntropy, layerNorm, manualSeed, linear, reshape, silu, slice, tensor } from "../../src/tensor/index.js";
import { assertCloseRel, fixtureDir, loadInputs, loadJson, loadTensors } from "../helpers/fixtures.js";
import { tempDir } from "../io/fixtures.js";
import { loraFixtureTests, promptFixtureTests } from "../peft/method-cases.js";
import { encoderFixtureTests } from "./encoder-cases.js";

encoderFixtureTests("modernbert", ModernBertForSequenceClassification);
for (const method of ["lora", "lora-rslora"]) loraFixtureTests("modernbert", method);
for (const method of ["prompt-tuning", "p-tuning", "prefix-tuning", "prefix-tuning-projection"]) promptFixtureTests("modernbert", method);

let dir = "";
let cleanup = async () => {};
before(async () => { ({ dir, cleanup } = await tempDir("modernbert")); });
after(() => cleanup());

const inputs = loadInputs("modernbert");
const fixtureConfig = () => loadJson("modernbert", "config.json");

/** The fixture's weights under another config.json. */
async function withConfig(name: string, config: Record<string, unknown>): Promise<string> {
  const out = join(dir, name);
  await mkdir(out, { recursive: true });
  await copyFile(fixtureDir("modernbert", "model.safetensors"), join(out, "model.safetensors"));
  await writeFile(join(out, "config.json"), JSON.stringify(config));
  return out;
}

const warnings = () => {
  const seen: string[] = [];
  return { seen, onWarning: (m: string) => seen.push(m) };
};

test("modernbert parameter names are transformers' keys: no attn_norm in layer 0, biases only where the config asks", async () => {
  const m = await ModernBertForSequenceClassification.fromPretrained(fixtureDir("modernbert"));
  const names = [...m.namedParameters()].map(([n]) => n);
  for (const key of ["model.embeddings.tok_embeddings.weight", "model.embeddings.norm.weight", "model.layers.0.attn.Wqkv.weight",
    "model.layers.0.attn.Wqkv.bias", "model.layers.1.attn_norm.weight", "model.layers.2.mlp.Wi.weight", "model.layers.2.mlp.Wo.weight",
    "model.final_norm.weight", "head.dense.weight", "head.dense.bias", "head.norm.weight", "classifier.bias"])
    assert.ok(names.includes(key), key);
  assert.ok(!names.some((n) => n.startsWith("model.layers.0.attn_norm")), "layer 0's attn_norm is an identity");
  assert.ok(!names.some((n) => /norm\.bias$|mlp\.W[io]\.bias$/.test(n)), "norm_bias and mlp_bias are false");
  assert.deepEqual([...names].sort(), [...loadSafetensorsSync(fixtureDir("modernbert", "model.safetensors")).tensors.keys()].sort());
});

test("modernbert: the newer config format (layer_types, rope_parameters) gives the same model", async () => {
  const { global_rope_theta: g, local_rope_theta: l, ...rest } = fixtureConfig();
  const newer = {
    ...rest, layer_types: ["full_attention", "sliding_attention", "full_attention"],
    rope_parameters: { full_attention: { rope_type: "default", rope_theta: g }, sliding_attention: { rope_type: "default", rope_theta: l } },
  };
  const m = await ModernBertForSequenceClassification.fromPretrained(await withConfig("newer", newer));
  assert.equal(m.config.globalRopeTheta, g);
  assert.equal(m.config.localRopeTheta, l);
  assertCloseRel("logits", m.forward(inputs).logits, loadTensors("modernbert", "expected.safetensors").get("logits")!, 1e-6);
});

test("modernbert: local_rope_theta null rotates the local layers with the global base", async () => {
  const c = fixtureConfig();
  const nulled = await ModernBertModel.fromPretrained(await withConfig("null-local", { ...c, local_rope_theta: null }), { onWarning: () => {} });
  const same = await ModernBertModel.fromPretrained(await withConfig("same-local", { ...c, local_rope_theta: c.global_rope_theta }), { onWarning: () => {} });
  assert.equal(nulled.config.localRopeTheta, c.global_rope_theta);
  assert.deepEqual(nulled.forward(inputs).logits.data, same.forward(inputs).logits.data);
  assert.equal(nulled.configDict().local_rope_theta, null, "written back as read");
});

test("modernbert config errors name the field", () => {
  const base = { model_type: "modernbert", vocab_size: 50, hidden_size: 16, num_attention_heads: 4, num_hidden_layers: 3, pad_token_id: 0 };
  const bad = (extra: Record<string, unknown>) => () => parseModernBertConfig({ ...base, ...extra }, "x/config.json");
  assert.throws(bad({ pad_token_id: undefined }), /x\/config\.json: config field "pad_token_id" \(50283\) must be below vocab_size \(50\)/);
  assert.throws(bad({ layer_types: ["full_attention", "full_attention", "sliding_attention"] }),
    /config field "layer_types" must be 3 entries following global_attn_every_n_layers \(3\)/);
  assert.throws(bad({ rope_parameters: { full_attention: { rope_type: "yarn", factor: 2 } } }),
    /config field "rope_parameters\.full_attention" has rope_type "yarn"; only "default" rotary embeddings are supported/);
  assert.throws(bad({ rope_scaling: { type: "linear", factor: 2 } }), /config field "rope_scaling" is set/);
  assert.throws(bad({ classifier_pooling: "max" }), /config field "classifier_pooling" is "max", which is not supported \(supported: cls, mean\)/);
  assert.throws(bad({ hidden_size: 12, num_attention_heads: 4 }), /hidden_size" \/ num_attention_heads \(3\) must be even/);
});

test("modernbert window mask: padding everywhere, keys beyond local_attention // 2 hidden only in local layers, a prefix always visible", () => {
  // One row: 2 prefix keys, then 4 tokens of which the last is padding; window 1.
  const { global, local } = modernBertMasks(tensor([[1, 1, 1, 1, 1, 0]]), 4, 2, 1);
  assert.deepEqual([global.rows, global.keys, local.rows, local.keys], [1, 6, 4, 6]);
  const open = (m: Float32Array | Float64Array) => Array.from(m, (v) => (v === 0 ? 1 : v === FLOAT32_MIN ? 0 : NaN));
  assert.deepEqual(open(global.data), [1, 1, 1, 1, 1, 0]);
  assert.deepEqual(open(local.data), [
    1, 1, 1, 1, 0, 0,
    1, 1, 1, 1, 1, 0,
    1, 1, 0, 1, 1, 0,
    1, 1, 0, 0, 1, 0,
  ]);
});

test("modernbert \"cls\" pooling classifies from the first position: classifier(norm(act(dense(h[:, 0]))))", async () => {
  const m = await ModernBertForSequenceClassification.fromPretrained(await withConfig("cls", { ...fixtureConfig(), classifier_pooling: "cls" }));
  const out = m.forward(inputs);
  const h = out.lastHiddenState!;
  assertCloseRel("last_hidden_state", h, loadTensors("modernbert", "expected.safetensors").get("last_hidden_state")!);
  const first = reshape(slice(h, 1, 0, 1), [3, 32]);
  const { dense, norm } = m.head;
  const pooled = layerNorm(silu(linear(first, dense.weight, dense.bias)), norm.weight, norm.bias, 1e-6);
  assertCloseRel("logits", out.logits, linear(pooled, m.classifier.weight, m.classifier.bias), 1e-6);
});

test("ModernBertForMaskedLM: head and decoder at every position, the decoder tied to tok_embeddings with its own bias", async () => {
  const w = warnings();
  const m = await ModernBertForMaskedLM.fromPretrained(fixtureDir("modernbert"), { onWarning: w.onWarning });
  assert.match(w.seen.join("\n"), /not used when initializing ModernBertForMaskedLM: \['classifier\.bias', 'classifier\.weight'\]/);
  assert.match(w.seen.join("\n"), /newly initialized: \['decoder\.bias'\]/, "the prediction head is the classifier's: it loads");
  assert.equal(m.decoder.weight, m.model.embeddings.tokEmbeddings.weight);
  m.decoder.bias!.data.fill(0.25);
  const labels = inputs.inputIds.map((row, b) => row.map((id, t) => ((b + t) % 3 === 0 && inputs.attentionMask[b][t] ? id : -100)));
  const out = m.forward({ ...inputs, labels });
  assert.deepEqual(out.logits.shape, [3, 9, 512]);
  const h = out.lastHiddenState!;
  assertCloseRel("last_hidden_state", h, loadTensors("modernbert", "expected.safetensors").get("last_hidden_state")!);
  const { dense, norm } = m.head;
  const t = layerNorm(silu(linear(h, dense.weight, dense.bias)), norm.weight, norm.bias, 1e-6);
  const want = add(linear(t, m.model.embeddings.tokEmbeddings.weight, null), m.decoder.bias!);
  assertCloseRel("logits", out.logits, want, 1e-6);
  const wantLoss = crossEntropy(reshape(want, [27, 512]), reshape(tensor(labels, { dtype: "int32" }), [27]));
  assert.ok(Math.abs(out.loss!.item() - wantLoss.item()) < 1e-5);
  assert.ok(Math.abs(m.maskedLoss({ ...inputs, labels: tensor(labels, { dtype: "int32" }) }).loss.item() - wantLoss.item()) < 1e-5, "maskedLoss = forward's loss");

  await m.savePretrained(join(dir, "mlm"));
  const saved = loadSafetensorsSync(join(dir, "mlm", "model.safetensors")).tensors;
  assert.ok(!saved.has("decoder.weight") && saved.has("decoder.bias") && saved.has("head.dense.weight"), "the tied decoder weight is written once, as the embeddings");
  const back = await AutoModelForMaskedLM.fromPretrained(join(dir, "mlm"));
  assert.ok(back instanceof ModernBertForMaskedLM);
  const unlabelled = { inputIds: inputs.inputIds, attentionMask: inputs.attentionMask };
  assert.deepEqual(back.forward(unlabelled).logits.data, m.forward(unlabelled).logits.data);
  // And the masked-LM checkpoint (ModernBERT-base is one) starts a classifier with its prediction head trained.
  const wc = warnings();
  await ModernBertForSequenceClassification.fromPretrained(join(dir, "mlm"), { numLabels: 2, onWarning: wc.onWarning });
  assert.match(wc.seen.join("\n"), /newly initialized: \['classifier\.weight', 'classifier\.bias'\]/);
});

test("modernbert fresh init is ModernBERT's: truncated normals, the output projections scaled down by sqrt(2 · layers)", () => {
  manualSeed(5);
  const m = new ModernBertForSequenceClassification(modernBertConfig({
    vocabSize: 300, hiddenSize: 64, intermediateSize: 96, numHiddenLayers: 8, numAttentionHeads: 4, padTokenId: 0, numLabels: 16,
  }));
  const stats = (t: { data: ArrayLike<number> }) => {
    const a = Array.from(t.data);
    return { max: Math.max(...a.map(Math.abs)), std: Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length) };
  };
  const layer = m.model.layers.items[3];
  const cases: [string, { data: ArrayLike<number> }, number][] = [
    ["Wqkv", layer.attn.wqkv.weight, 0.02], ["Wi", layer.mlp.wi.weight, 0.02], ["attn Wo", layer.attn.wo.weight, 0.02 / 4],
    ["mlp Wo", layer.mlp.wo.weight, 0.02 / 4], ["head.dense", m.head.dense.weight, 0.02 / 4], ["tok_embeddings", m.model.embeddings.tokEmbeddings.weight, 0.02],
    ["classifier", m.classifier.weight, 1 / 8],
  ];
  for (const [name, t, std] of cases) {
    const s = stats(t);
    assert.ok(s.max <= 2 * std + 1e-7, `${name}: |w| ≤ 2 std (initializer_cutoff_factor), got ${s.max}`);
    // A normal truncated at ±2σ has a standard deviation of 0.88σ.
    assert.ok(Math.abs(s.std / std - 0.88) < 0.08, `${name}: std ${s.std} for σ ${std}`);
  }
  assert.ok(m.model.embeddings.tokEmbeddings.weight.data.subarray(0, 64).some((v) => v !== 0), "the padding row is drawn too");
  assert.ok(m.classifier.bias!.data.every((v) => v === 0) && m.model.finalNorm.weight.data.every((v) => v === 1));
});

test("modernbert's activation estimate (the gated pre-norm profile) is within a factor of two of what a forward pass keeps", () => {
  manualSeed(6);
  const m = new ModernBertForSequenceClassification(modernBertConfig({
    vocabSize: 120, hiddenSize: 64, numHiddenLayers: 4, numAttentionHeads: 4, intermediateSize: 96, padTokenId: 0, numLabels: 3,
    localAttention: 32, attentionDropout: 0.1, mlpDropout: 0.1, embeddingDropout: 0.1,
  })).train();
  const [b, s] = [4, 48];
  const ids = new Tensor(Int32Array.from({ length: b * s }, (_, i) => (i * 7) % 100 + 1), [b, s]);
  const before = process.memoryUsage().arrayBuffers;
  const out = m.forward({ inputIds: ids, attentionMask: new Tensor(new Int32Array(b * s).fill(1), [b, s]), labels: [0, 1, 2, 0] });
  const kept = process.memoryUsage().arrayBuffers - before;
  const ratio = estimateTrainingMemory(m, { batchSize: b, seqLen: s }).activationsBytes / kept;
  assert.ok(ratio > 0.5 && ratio < 2, `estimate / kept = ${ratio.toFixed(2)}`);
  assert.ok(Number.isFinite(out.loss!.item()));
});

test("masked-LM pretraining of a micro ModernBERT lowers the loss and writes a model folder that loads", async () => {
  const gen = new Generator(7);
  const words = ["the", "cat", "ship", "river", "sees", "keeps", "near", "old", "red", "house"];
  const lines = Array.from({ length: 300 }, () => Array.from({ length: 8 }, () => words[gen.int(words.length)]).join(" "));
  const corpus = join(dir, "corpus.txt");
  await writeFile(corpus, `${lines.join("\n")}\n`);
  const out = join(dir, "pretrained");
  const r = await pretrain({
    model: { arch: "modernbert", size: { dim: 32, layers: 2, heads: 2 }, vocabSize: 80 }, corpus: { files: [corpus] }, maxLength: 24,
    output: out, batchSize: 8, maxSteps: 30, lr: 3e-3, warmupSteps: 3, logEvery: 5, valEvery: 30, valBlocks: 4, progressOutput: { write: () => true },
  });
  assert.equal(r.objective, "mlm");
  const [header, ...rows] = (await readFile(join(out, "metrics.csv"), "utf8")).trim().split("\n").map((l) => l.split(","));
  const losses = rows.map((row) => row[header.indexOf("train_loss")]).filter(Boolean).map(Number);
  assert.ok(losses.at(-1)! < losses[0] - 0.5, `loss fell from ${losses[0]} to ${losses.at(-1)}`);
  const model = await AutoModelForMaskedLM.fromPretrained(out);
  assert.ok(model instanceof ModernBertForMaskedLM);
  assert.equal(model.config.clsTokenId, model.config.bosTokenId);
});
