import assert from "node:assert/strict";
import { copyFile, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fromFloat32, type RawTensor } from "../../src/io/raw-tensor.js";
import { loadSafetensors, saveSafetensors } from "../../src/io/safetensors.js";
import { BertForSequenceClassification, BertModel } from "../../src/models/bert/index.js";
import { DistilBertForSequenceClassification, DistilBertModel, distilBertConfig } from "../../src/models/distilbert/index.js";
import { parseDistilBertConfig } from "../../src/models/distilbert/config.js";
import { parseBertConfig } from "../../src/models/bert/config.js";
import { manualSeed } from "../../src/tensor/index.js";
import { assertCloseRel, fixtureDir, loadInputs, loadTensors } from "../helpers/fixtures.js";
import { tempDir } from "../io/fixtures.js";

let dir = "";
let cleanup = async () => {};
before(async () => {
  ({ dir, cleanup } = await tempDir("models-loading"));
});
after(() => cleanup());

const warnings = () => {
  const seen: string[] = [];
  return { seen, onWarning: (m: string) => seen.push(m) };
};

async function readConfig(model: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(fixtureDir(model, "config.json"), "utf8"));
}

/** A model folder holding the fixture's config.json and the given weights file(s). */
async function folder(name: string, model: string, weights: Map<string, RawTensor>, config?: Record<string, unknown>): Promise<string> {
  const out = join(dir, name);
  await mkdir(out, { recursive: true });
  await writeFile(join(out, "config.json"), JSON.stringify(config ?? await readConfig(model)));
  await saveSafetensors(join(out, "model.safetensors"), weights);
  return out;
}

async function fixtureWeights(model: string): Promise<Map<string, RawTensor>> {
  return (await loadSafetensors(fixtureDir(model, "model.safetensors"))).tensors;
}

test("config errors name the file and the field", () => {
  const good = { model_type: "distilbert", vocab_size: 100, dim: 32, n_layers: 2, n_heads: 4, hidden_dim: 64 };
  const bad = (edit: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(() => parseDistilBertConfig({ ...good, ...edit }, "/m/config.json"), pattern);
  bad({ vocab_size: undefined }, /\/m\/config\.json: config field "vocab_size" is required but missing/);
  bad({ dim: "32" }, /"dim" must be a number/);
  bad({ n_layers: 1.5 }, /"n_layers" must be an integer/);
  bad({ n_heads: 0 }, /"n_heads" must be at least 1/);
  bad({ hidden_dim: -4 }, /"hidden_dim" must be at least 1/);
  bad({ vocab_size: 2e7 }, /"vocab_size" must be at most 10000000/);
  bad({ dim: 131072 }, /"dim" must be at most 65536/);
  bad({ dim: 30 }, /"dim" \(30\) must be divisible by n_heads \(4\)/);
  bad({ activation: "mish" }, /"activation" is "mish", which is not supported \(supported: gelu, .*relu/);
  bad({ dropout: 1 }, /"dropout" must be below 1/);
  bad({ pad_token_id: 100 }, /"pad_token_id" \(100\) must be below vocab_size/);
  bad({ model_type: "bert" }, /"model_type" is "bert" but a distilbert model was requested/);
  bad({ id2label: { a: "x" } }, /"id2label" has a key "a"/);
  assert.throws(() => parseBertConfig({ model_type: "bert", vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2,
    intermediate_size: 8, position_embedding_type: "relative_key" }, "c.json"), /"position_embedding_type" is "relative_key", which is not supported \(supported: absolute\)/);
});

test("configs: typed camelCase fields, num_labels from id2label, HF defaults", async () => {
  const c = parseDistilBertConfig(await readConfig("distilbert"), "config.json");
  assert.equal(c.numLabels, 3);
  assert.equal(c.seqClassifDropout, 0.2);
  assert.equal(c.activation, "gelu");
  assert.deepEqual(c.id2label, { 0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2" });
  const b = parseBertConfig(await readConfig("bert"), "config.json");
  assert.equal(b.classifierDropout, null);
  assert.equal(b.layerNormEps, 1e-12);
  assert.equal(b.typeVocabSize, 2);
  const d = distilBertConfig({ vocabSize: 50, dim: 16, nLayers: 1, nHeads: 2, hiddenDim: 32 });
  assert.equal(d.numLabels, 2, "PretrainedConfig's default of two labels");
  assert.equal(d.maxPositionEmbeddings, 512);
});

test("savePretrained writes what transformers reads, and loads back identically", async () => {
  const m = await DistilBertForSequenceClassification.fromPretrained(fixtureDir("distilbert"), { id2label: { 0: "neg", 1: "neu", 2: "pos" } });
  const out = join(dir, "saved");
  await m.savePretrained(out);
  const config = JSON.parse(await readFile(join(out, "config.json"), "utf8"));
  const original = await readConfig("distilbert");
  for (const k of Object.keys(original)) if (!["id2label", "label2id"].includes(k)) assert.deepEqual(config[k], original[k], k);
  assert.deepEqual(config.architectures, ["DistilBertForSequenceClassification"]);
  assert.deepEqual(config.id2label, { 0: "neg", 1: "neu", 2: "pos" });
  assert.deepEqual(config.label2id, { neg: 0, neu: 1, pos: 2 });
  const saved = (await loadSafetensors(join(out, "model.safetensors"))).tensors;
  assert.deepEqual(saved, await fixtureWeights("distilbert"), "same keys, dtypes, shapes and values as transformers wrote");
  const back = await DistilBertForSequenceClassification.fromPretrained(out);
  assert.deepEqual(back.config.id2label, { 0: "neg", 1: "neu", 2: "pos" });
  assert.deepEqual(back.forward(loadInputs("distilbert")).logits.data, m.forward(loadInputs("distilbert")).logits.data);
});

test("a base-model checkpoint in a model with a head: prefixed keys, head initialised, one warning", async () => {
  const base = await DistilBertModel.fromPretrained(fixtureDir("distilbert"), { onWarning: () => {} });
  const out = join(dir, "base");
  await base.savePretrained(out);
  const saved = (await loadSafetensors(join(out, "model.safetensors"))).tensors;
  assert.ok(saved.has("embeddings.word_embeddings.weight") && !saved.has("classifier.weight"), "the base model saves without prefix");
  const w = warnings();
  manualSeed(0);
  const m = await DistilBertForSequenceClassification.fromPretrained(out, { numLabels: 4, onWarning: w.onWarning });
  assert.equal(w.seen.length, 1);
  assert.match(w.seen[0], /^Some weights of DistilBertForSequenceClassification were not initialized from the model checkpoint at .* and are newly initialized: \['pre_classifier.weight', 'pre_classifier.bias', 'classifier.weight', 'classifier.bias'\]\nYou should probably TRAIN this model/);
  assert.deepEqual(m.classifier.weight.shape, [4, 32]);
  assert.ok(m.classifier.bias!.data.every((v) => v === 0));
  const std = Math.sqrt(Array.from(m.preClassifier.weight.data).reduce((s, v) => s + v * v, 0) / m.preClassifier.weight.numel);
  assert.ok(Math.abs(std - 0.02) < 0.003, `initializer_range std, got ${std}`);
  assert.deepEqual(m.config.id2label, { 0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2", 3: "LABEL_3" });
  const ref = loadTensors("distilbert", "expected.safetensors");
  assertCloseRel("last_hidden_state", m.forward({ ...loadInputs("distilbert"), outputLastHiddenState: true }).lastHiddenState!, ref.get("last_hidden_state")!);
});

test("a checkpoint with a head in the base model: prefix stripped, head keys reported unused", async () => {
  const w = warnings();
  const m = await BertModel.fromPretrained(fixtureDir("bert"), { onWarning: w.onWarning });
  assert.equal(w.seen.length, 1);
  assert.match(w.seen[0], /^Some weights of the model checkpoint at .* were not used when initializing BertModel: \['classifier.bias', 'classifier.weight'\]/);
  const ref = loadTensors("bert", "expected.safetensors");
  const out = m.forward({ inputIds: loadInputs("bert").inputIds, attentionMask: loadInputs("bert").attentionMask });
  assertCloseRel("last_hidden_state", out.lastHiddenState!, ref.get("last_hidden_state")!);
  assertCloseRel("pooler_output", out.poolerOutput!, ref.get("pooler_output")!);
  assert.equal(out.loss, undefined);
});

test("old checkpoints: LayerNorm gamma/beta and a position_ids buffer load silently", async () => {
  const renamed = new Map<string, RawTensor>();
  for (const [k, t] of await fixtureWeights("bert")) renamed.set(k.replace(/LayerNorm\.weight$/, "LayerNorm.gamma").replace(/LayerNorm\.bias$/, "LayerNorm.beta"), t);
  renamed.set("bert.embeddings.position_ids", { dtype: "I64", shape: [1, 64], data: BigInt64Array.from({ length: 64 }, (_, i) => BigInt(i)) });
  const w = warnings();
  const m = await BertForSequenceClassification.fromPretrained(await folder("gamma", "bert", renamed), { onWarning: w.onWarning });
  assert.deepEqual(w.seen, []);
  assertCloseRel("logits", m.forward(loadInputs("bert")).logits, loadTensors("bert", "expected.safetensors").get("logits")!);
});

test("numLabels that changes the head shape fails clearly, or re-initialises with ignoreMismatchedSizes", async () => {
  await assert.rejects(BertForSequenceClassification.fromPretrained(fixtureDir("bert"), { numLabels: 5 }),
    /classifier.weight has shape \[3,32\] in the checkpoint but \[5,32\] in BertForSequenceClassification\. Pass ignoreMismatchedSizes/);
  const w = warnings();
  const m = await BertForSequenceClassification.fromPretrained(fixtureDir("bert"), { numLabels: 5, ignoreMismatchedSizes: true, onWarning: w.onWarning });
  assert.equal(m.config.numLabels, 5);
  assert.match(w.seen.join("\n"), /newly initialized because the shapes did not match:\n- classifier.weight: found shape \[3,32\] in the checkpoint and \[5,32\]/);
  assert.deepEqual(m.forward(loadInputs("bert")).logits.shape, [3, 5]);
});

test("savePretrained with a precision and a shard size: index and shards transformers reads, loaded back", async () => {
  const m = await DistilBertForSequenceClassification.fromPretrained(fixtureDir("distilbert"));
  const ref = m.forward(loadInputs("distilbert")).logits;
  for (const dtype of ["float16", "bfloat16"] as const) {
    const out = join(dir, `saved-${dtype}`);
    await m.savePretrained(out, { dtype, maxShardSize: "20KB" });
    const index = JSON.parse(await readFile(join(out, "model.safetensors.index.json"), "utf8"));
    const shards = [...new Set(Object.values(index.weight_map) as string[])];
    assert.ok(shards.length >= 2 && shards.every((n) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(n)), shards.join());
    for (const shard of shards) {
      for (const t of (await loadSafetensors(join(out, shard))).tensors.values()) assert.equal(t.dtype, dtype === "float16" ? "F16" : "BF16");
    }
    assert.equal(JSON.parse(await readFile(join(out, "config.json"), "utf8")).torch_dtype, dtype);
    const back = await DistilBertForSequenceClassification.fromPretrained(out);
    assertCloseRel(`${dtype} logits`, back.forward(loadInputs("distilbert")).logits, ref, dtype === "float16" ? 1e-2 : 5e-2);
  }
  await assert.rejects(m.savePretrained(join(dir, "bad-size"), { maxShardSize: "lots" }), /maxShardSize: expected a positive size/);
  assert.equal(await stat(join(dir, "bad-size")).catch(() => null), null, "nothing written");
  await assert.rejects(m.savePretrained(join(dir, "bad-dtype"), { dtype: "int8" as "float16" }), /^RangeError: savePretrained: dtype must be float32, float16 or bfloat16, got int8$/);
});

test("F16 and BF16 weights load as float32; sharded checkpoints load", async () => {
  const ref = loadTensors("distilbert", "expected.safetensors").get("logits")!;
  for (const dtype of ["F16", "BF16"] as const) {
    const half = new Map([...await fixtureWeights("distilbert")].map(([k, t]) => [k, fromFloat32(t.data as Float32Array, t.shape, dtype)]));
    const m = await DistilBertForSequenceClassification.fromPretrained(await folder(dtype, "distilbert", half));
    assert.equal(m.classifier.weight.dtype, "float32");
    assertCloseRel(`${dtype} logits`, m.forward(loadInputs("distilbert")).logits, ref, dtype === "F16" ? 1e-2 : 5e-2);
  }
  const sharded = join(dir, "sharded");
  await mkdir(sharded);
  await copyFile(fixtureDir("distilbert", "config.json"), join(sharded, "config.json"));
  const weightMap: Record<string, string> = {};
  const shards: Map<string, RawTensor>[] = [new Map(), new Map()];
  [...await fixtureWeights("distilbert")].forEach(([k, t], i) => { shards[i % 2].set(k, t); weightMap[k] = `model-0000${i % 2 + 1}-of-00002.safetensors`; });
  for (const i of [0, 1]) await saveSafetensors(join(sharded, `model-0000${i + 1}-of-00002.safetensors`), shards[i]);
  await writeFile(join(sharded, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  assertCloseRel("sharded logits", (await DistilBertForSequenceClassification.fromPretrained(sharded)).forward(loadInputs("distilbert")).logits, ref);
});

test("dtype float64 runs the model in double precision", async () => {
  const m = await BertForSequenceClassification.fromPretrained(fixtureDir("bert"), { dtype: "float64" });
  assert.ok(m.parameters().every((p) => p.dtype === "float64"));
  const out = m.forward(loadInputs("bert"));
  assert.equal(out.logits.dtype, "float64");
  assertCloseRel("logits", out.logits, loadTensors("bert", "expected.safetensors").get("logits")!);
});

test("a loaded model is in eval mode; a missing folder is a clear error", async () => {
  const m = await DistilBertForSequenceClassification.fromPretrained(fixtureDir("distilbert"));
  assert.equal(m.training, false);
  await assert.rejects(DistilBertForSequenceClassification.fromPretrained(join(dir, "nope"), { offline: true }), /nope: no such model folder/);
});

test("sinusoidal DistilBERT positions are fixed and re-created when missing", async () => {
  const config = { ...await readConfig("distilbert"), sinusoidal_pos_embds: true };
  const weights = new Map([...await fixtureWeights("distilbert")].filter(([k]) => !k.includes("position_embeddings")));
  const w = warnings();
  const m = await DistilBertForSequenceClassification.fromPretrained(await folder("sinusoidal", "distilbert", weights, config), { onWarning: w.onWarning });
  const pos = m.distilbert.embeddings.positionEmbeddings.weight;
  assert.equal(pos.requiresGrad, false);
  const dim = 32;
  assert.ok(Math.abs(pos.data[3 * dim + 4] - Math.sin(3 / Math.pow(10000, 4 / dim))) < 1e-6);
  assert.ok(Math.abs(pos.data[3 * dim + 5] - Math.cos(3 / Math.pow(10000, 4 / dim))) < 1e-6);
  assert.match(w.seen[0], /newly initialized: \['distilbert.embeddings.position_embeddings.weight'\]/);
});
