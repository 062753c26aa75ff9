// Qwen3 (a model type of the Llama family): the fixture of scripts/fixtures/families/qwen3.py on both backends for
// every method folder, and what sets Qwen3 apart from Llama/Qwen2: q_norm/k_norm, an explicit head_dim that differs
// from hidden / heads, tied embeddings, no pad token, its defaults and what it refuses.
import assert from "node:assert/strict";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { loadSafetensors } from "../../src/io/safetensors.js";
import { AutoModelForCausalLM, AutoModelForSequenceClassification } from "../../src/models/index.js";
import { LlamaForCausalLM, LlamaForSequenceClassification, llamaConfig, parseLlamaConfig } from "../../src/models/llama/index.js";
import { RMSNorm } from "../../src/nn/index.js";
import { PrefixTuningConfig, getPeftModel } from "../../src/peft/index.js";
import { noGrad, tensor } from "../../src/tensor/index.js";
import { assertCloseRel, fixtureDir, loadInputs, loadTensors } from "../helpers/fixtures.js";
import { scratchDir } from "../helpers/temp-dir.js";
import { peftFixtureTests } from "../peft/method-cases.js";
import { decoderFixtureTests } from "./decoder-cases.js";

const quiet = { onWarning: () => {} };
const load = (dir: string) => AutoModelForCausalLM.fromPretrained(dir, quiet);
// The embeddings are tied to lm_head, so the last-layers method leaves the head frozen.
decoderFixtureTests({ model: "qwen3", load, lastLayers: ["model.layers.1", "model.norm"] });
peftFixtureTests("qwen3");

const inputs = loadInputs("qwen3");

test("qwen3: q_norm and k_norm over head_dim, head_dim 16 with hidden 32 and 4 heads, tied lm_head", async () => {
  const m = await load(fixtureDir("qwen3")) as LlamaForCausalLM;
  const params = new Map(m.namedParameters());
  assert.deepEqual(params.get("model.layers.0.self_attn.q_proj.weight")!.shape, [64, 32]);
  assert.deepEqual(params.get("model.layers.0.self_attn.k_proj.weight")!.shape, [32, 32]);
  assert.deepEqual(params.get("model.layers.0.self_attn.o_proj.weight")!.shape, [32, 64]);
  assert.deepEqual(params.get("model.layers.1.self_attn.q_norm.weight")!.shape, [16]);
  assert.ok(m.getSubmodule("model.layers.0.self_attn.k_norm") instanceof RMSNorm);
  assert.ok(![...params.keys()].some((n) => n.endsWith(".bias")), "attention_bias false: no biases");
  // transformers' order: q, k, v, o, then the two norms.
  assert.deepEqual([...params.keys()].filter((n) => n.startsWith("model.layers.0.self_attn.")).map((n) => n.split(".")[4]),
    ["q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm"]);
  assert.equal(m.lmHead.weight, m.model.embedTokens.weight);
  assert.deepEqual(m.tiedKeys(), ["lm_head.weight"]);
  assert.equal(m.model.embedTokens.paddingIdx, undefined, "no pad_token_id, no padding_idx");
  assert.equal(m.peftFacts().headDim, 16);
});

test("qwen3: the norms matter (unit q_norm/k_norm weights change the logits)", async () => {
  const m = await load(fixtureDir("qwen3"));
  const ref = loadTensors("qwen3", "expected.safetensors").get("logits")!;
  for (const [n, p] of m.namedParameters()) if (/\.(q|k)_norm\./.test(n)) p.data.fill(1);
  const out = noGrad(() => m.forward(inputs).logits);
  assert.ok(out.data.some((v, i) => Math.abs(v - ref.data[i]) > 1e-3));
});

test("qwen3 savePretrained round-trips config and weights; the tied head is not written", async () => {
  const m = await load(fixtureDir("qwen3"));
  const out = join(await scratchDir("finetune-qwen3-"), "saved");
  await m.savePretrained(out);
  const config = JSON.parse(await readFile(join(out, "config.json"), "utf8"));
  assert.equal(config.model_type, "qwen3");
  assert.equal(config.head_dim, 16);
  assert.equal(config.rope_theta, 1000000);
  assert.equal(config.use_sliding_window, false);
  assert.equal(config.partial_rotary_factor, undefined, "Phi-3's fields are not written for Qwen3");
  const { tensors } = await loadSafetensors(join(out, "model.safetensors"));
  assert.ok(!tensors.has("lm_head.weight") && tensors.has("model.layers.0.self_attn.q_norm.weight"));
  assertCloseRel("logits", (await load(out)).forward(inputs).logits, loadTensors("qwen3", "expected.safetensors").get("logits")!);
});

test("Qwen3ForSequenceClassification: the score head on the last token; without a pad token only one row at a time", async () => {
  const cls = await AutoModelForSequenceClassification.fromPretrained(fixtureDir("qwen3"), { ...quiet, numLabels: 3 }) as LlamaForSequenceClassification;
  assert.ok(cls instanceof LlamaForSequenceClassification);
  assert.deepEqual(cls.classifierModules(), ["score"]);
  const hidden = loadTensors("qwen3", "expected.safetensors").get("last_hidden_state")!;
  noGrad(() => inputs.inputIds.forEach((row, b) => {
    const len = inputs.attentionMask[b].reduce((s, v) => s + v, 0);
    const logits = cls.forward({ inputIds: [row.slice(0, len)] }).logits;
    // score(last real token's hidden state), as transformers pools it.
    const last = Array.from(hidden.data.subarray((b * row.length + len - 1) * 32, (b * row.length + len) * 32));
    assertCloseRel(`row ${b}`, logits, cls.score.forward(tensor([last])));
  }));
  assert.throws(() => cls.forward({ inputIds: inputs.inputIds, attentionMask: inputs.attentionMask }), /Cannot handle batch sizes > 1 if no padding token is defined/);
});

test("qwen3 config: transformers' defaults, attention_bias on all four projections, sliding window refused", () => {
  const d = parseLlamaConfig({ model_type: "qwen3" }, "c.json");
  assert.deepEqual([d.headDim, d.numKeyValueHeads, d.rmsNormEps, d.vocabSize, d.maxPositionEmbeddings, d.padTokenId, d.bosTokenId, d.eosTokenId],
    [128, 32, 1e-6, 151936, 32768, null, null, null]);
  assert.ok(d.qkNorm && !d.fusedProjections && d.rotaryDim === 128 && !d.tieWordEmbeddings);
  const biased = new LlamaForCausalLM(llamaConfig({ modelType: "qwen3", vocabSize: 40, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 1,
    numAttentionHeads: 4, numKeyValueHeads: 2, headDim: 8, attentionBias: true }));
  const names = [...biased.namedParameters()].map(([n]) => n);
  for (const p of ["q_proj", "k_proj", "v_proj", "o_proj"]) assert.ok(names.includes(`model.layers.0.self_attn.${p}.bias`), p);
  assert.ok(!names.some((n) => n.startsWith("model.layers.0.mlp.") && n.endsWith(".bias")), "Qwen3's MLP has no biases");
  assert.throws(() => parseLlamaConfig({ model_type: "qwen3", use_sliding_window: true }, "/m/config.json"),
    /\/m\/config\.json: config field "use_sliding_window" is true; Qwen sliding-window attention is not supported/);
  assert.throws(() => llamaConfig({ modelType: "qwen3", partialRotaryFactor: 0.5 }), /unknown config field "partialRotaryFactor"/);
});

test("prefix tuning on a Qwen3 without GQA whose head_dim is not hidden / heads: PEFT's sizes come from head_dim", () => {
  const m = new LlamaForCausalLM(llamaConfig({ modelType: "qwen3", vocabSize: 40, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 2,
    numAttentionHeads: 4, numKeyValueHeads: 4, headDim: 8 }));
  const peft = getPeftModel(m, new PrefixTuningConfig({ taskType: "CAUSAL_LM", numVirtualTokens: 3 }));
  const c = peft.activeConfig as PrefixTuningConfig;
  // PEFT 0.18+: token_dim = head_dim * num_key_value_heads = 32, twice the hidden size.
  assert.deepEqual([c.tokenDim, c.numAttentionHeads, c.encoderHiddenSize], [32, 4, 32]);
  assert.deepEqual(peft.forward({ inputIds: [[5, 9, 1]] }).logits.shape, [1, 3, 40]);
});

test("qwen3 config in transformers 5's format (rope_parameters instead of rope_theta) loads the same model", async () => {
  const folder = join(await scratchDir("finetune-qwen3-"), "v5");
  await mkdir(folder);
  const { rope_theta: theta, rope_scaling: _, ...rest } = JSON.parse(await readFile(fixtureDir("qwen3", "config.json"), "utf8"));
  await writeFile(join(folder, "config.json"), JSON.stringify({ ...rest, rope_parameters: { rope_type: "default", rope_theta: theta } }));
  await copyFile(fixtureDir("qwen3", "model.safetensors"), join(folder, "model.safetensors"));
  const m = await load(folder);
  assertCloseRel("logits", m.forward(inputs).logits, loadTensors("qwen3", "expected.safetensors").get("logits")!);
  const parse = (extra: Record<string, unknown>) => parseLlamaConfig({ model_type: "qwen3", ...extra }, "/m/config.json");
  assert.equal(parse({ rope_parameters: { rope_type: "default", rope_theta: 5e5 } }).ropeTheta, 5e5);
  assert.deepEqual(parse({ rope_parameters: { rope_type: "linear", factor: 2, rope_theta: 1e4 } }).ropeScaling, { type: "linear", factor: 2 });
  assert.throws(() => parse({ rope_theta: 1e6, rope_parameters: { rope_type: "default", rope_theta: 1e4 } }),
    /\/m\/config\.json: config field "rope_parameters\.rope_theta" \(10000\) disagrees with rope_theta \(1000000\)/);
  assert.throws(() => parse({ rope_parameters: { rope_type: "yarn", factor: 4, rope_theta: 1e6 } }), /config field "rope_parameters" has type "yarn", which is not supported/);
});
