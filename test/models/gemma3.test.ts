// The Gemma family (gemma3_text, gemma2) against its fixtures on both backends, every PEFT method folder, and the
// semantics the fixtures cannot show alone: which keys a sliding-window layer sees (a prefix included), the
// config forms transformers reads, HF's names in config.json, the classifier head.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { AutoModelForCausalLM, AutoModelForSequenceClassification, estimateParameterCount } from "../../src/models/index.js";
import {
  Gemma3ForCausalLM, Gemma3ForSequenceClassification, Gemma3TextModel, gemmaConfig, parseGemmaConfig, type GemmaConfig,
} from "../../src/models/gemma3/index.js";
import { gemmaShape } from "../../src/models/gemma3/config.js";
import { RMSNorm } from "../../src/nn/index.js";
import { manualSeed, noGrad, randn, slice, tensor } from "../../src/tensor/index.js";
import { assertCloseRel, fixtureDir, loadInputs, loadTensors } from "../helpers/fixtures.js";
import { tempDir } from "../io/fixtures.js";
import { loraFixtureTests, promptFixtureTests } from "../peft/method-cases.js";
import { decoderFixtureTests } from "./decoder-cases.js";

const quiet = { onWarning: () => {} };
const FIXTURES = ["gemma3", "gemma2"];

for (const fixture of FIXTURES) {
  decoderFixtureTests({ model: fixture, load: (dir) => Gemma3ForCausalLM.fromPretrained(dir, quiet), lastLayers: ["model.layers.2", "model.norm"] });
  for (const method of readdirSync(fixtureDir(fixture)).filter((d) => statSync(fixtureDir(fixture, d)).isDirectory())) {
    if (method.startsWith("lora")) loraFixtureTests(fixture, method);
    else if (method.includes("tuning")) promptFixtureTests(fixture, method);
  }
}

let dir = "";
let cleanup = async () => {};
before(async () => { ({ dir, cleanup } = await tempDir("gemma")); });
after(() => cleanup());

const tiny = (extra: Parameters<typeof gemmaConfig>[0] = {}) => gemmaConfig({
  vocabSize: 40, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 1, numAttentionHeads: 4, numKeyValueHeads: 2, headDim: 6,
  queryPreAttnScalar: 5, maxPositionEmbeddings: 64, ropeTheta: 500, ropeLocalBaseFreq: 50, slidingWindow: 3,
  layerTypes: ["sliding_attention"], ...extra,
});

/** A fresh model with norm weights away from HF's zero init, so (1 + w) matters. */
function fresh(config: GemmaConfig): Gemma3ForCausalLM {
  manualSeed(3);
  const m = new Gemma3ForCausalLM(config);
  for (const [, p] of m.namedParameters()) if (p.ndim === 1) p.copy_(randn(p.shape));
  return m.eval();
}

test("gemma config: layer_types, else sliding_window_pattern (Gemma 3) or alternation (Gemma 2); defaults per model type", () => {
  const types = (raw: Record<string, unknown>) => parseGemmaConfig({ num_hidden_layers: 7, ...raw }, "c.json").layerTypes.map((t) => t[0]).join("");
  assert.equal(types({ model_type: "gemma3_text" }), "sssssfs");
  assert.equal(types({ model_type: "gemma3_text", sliding_window_pattern: 3 }), "ssfssfs");
  assert.equal(types({ model_type: "gemma2", sliding_window_pattern: 3 }), "sfsfsfs", "Gemma2Config reads no pattern");
  assert.equal(types({ model_type: "gemma2", layer_types: ["full_attention", ...new Array(6).fill("sliding_attention")] }), "fssssss");
  const g3 = parseGemmaConfig({ model_type: "gemma3_text" }, "c.json"), g2 = parseGemmaConfig({ model_type: "gemma2" }, "c.json");
  assert.deepEqual([g3.ropeTheta, g3.ropeLocalTheta, g3.attnLogitSoftcapping, g3.finalLogitSoftcapping, g3.qkNorm], [1e6, 1e4, null, null, true]);
  assert.deepEqual([g2.ropeTheta, g2.ropeLocalTheta, g2.attnLogitSoftcapping, g2.finalLogitSoftcapping, g2.qkNorm], [1e4, null, 50, 30, false]);
  assert.equal(g2.embeddingScaledInModule, false);
  assert.deepEqual([g3.headDim, g3.queryPreAttnScalar, g3.slidingWindow, g3.tieWordEmbeddings, g3.padTokenId, g3.eosTokenId], [256, 256, 4096, true, 0, 1]);
});

test("gemma config: rope_scaling on full layers only; transformers 5's rope_parameters per layer type", () => {
  const linear = parseGemmaConfig({ model_type: "gemma3_text", rope_scaling: { rope_type: "linear", factor: 8 } }, "c.json");
  assert.deepEqual(linear.ropeScaling, { type: "linear", factor: 8 });
  assert.equal(linear.ropeLocalTheta, 10000);
  const v5 = parseGemmaConfig({ model_type: "gemma3_text", rope_parameters: {
    full_attention: { rope_type: "linear", factor: 4, rope_theta: 5e5 }, sliding_attention: { rope_type: "default", rope_theta: 123 } } }, "c.json");
  assert.deepEqual([v5.ropeTheta, v5.ropeScaling, v5.ropeLocalTheta], [5e5, { type: "linear", factor: 4 }, 123]);
  const g2 = parseGemmaConfig({ model_type: "gemma2", rope_parameters: { rope_type: "default", rope_theta: 777 } }, "c.json");
  assert.deepEqual([g2.ropeTheta, g2.ropeScaling], [777, null]);
  assert.throws(() => parseGemmaConfig({ model_type: "gemma3_text", rope_parameters: { sliding_attention: { rope_type: "linear", factor: 2 } } }, "/m/config.json"),
    /\/m\/config\.json.*rope_parameters\.sliding_attention.*default RoPE/s);
  assert.throws(() => parseGemmaConfig({ model_type: "gemma3_text", rope_scaling: { rope_type: "yarn", factor: 2 } }, "/m/config.json"), /rope_scaling.*yarn/s);
});

test("gemma config: clear errors name the file and the field", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ model_type: "gemma3_text", use_bidirectional_attention: true }, /use_bidirectional_attention.*EmbeddingGemma/],
    [{ model_type: "gemma3_text", num_hidden_layers: 2, layer_types: ["sliding_attention"] }, /layer_types.*2 entries/],
    [{ model_type: "gemma3_text", num_hidden_layers: 1, layer_types: ["local"] }, /layer_types/],
    [{ model_type: "gemma3_text", sliding_window_pattern: 0 }, /sliding_window_pattern/],
    [{ model_type: "gemma2", num_attention_heads: 6, num_key_value_heads: 4 }, /num_key_value_heads/],
    [{ model_type: "gemma2", head_dim: 7 }, /head_dim.*even/],
    [{ model_type: "gemma2", sliding_window: 0 }, /sliding_window/],
    [{ model_type: "gemma", }, /model_type.*gemma3_text, gemma2/],
  ];
  for (const [raw, re] of bad) assert.throws(() => parseGemmaConfig(raw, "/m/config.json"), (e: Error) => e.message.includes("/m/config.json") && re.test(e.message), JSON.stringify(raw));
});

test("gemma-3-270m's config sizes to its 268 million parameters", () => {
  const config = parseGemmaConfig({
    _sliding_window_pattern: 6, architectures: ["Gemma3ForCausalLM"], attention_bias: false, attention_dropout: 0, attn_logit_softcapping: null,
    bos_token_id: 2, eos_token_id: 1, final_logit_softcapping: null, head_dim: 256, hidden_activation: "gelu_pytorch_tanh", hidden_size: 640,
    initializer_range: 0.02, intermediate_size: 2048, layer_types: Array.from({ length: 18 }, (_, i) => ((i + 1) % 6 ? "sliding_attention" : "full_attention")),
    max_position_embeddings: 32768, model_type: "gemma3_text", num_attention_heads: 4, num_hidden_layers: 18, num_key_value_heads: 1, pad_token_id: 0,
    query_pre_attn_scalar: 256, rms_norm_eps: 1e-6, rope_local_base_freq: 10000, rope_scaling: null, rope_theta: 1e6, sliding_window: 512,
    torch_dtype: "bfloat16", use_bidirectional_attention: false, use_cache: true, vocab_size: 262144,
  }, "config.json");
  const total = estimateParameterCount(gemmaShape(config)).total;
  assert.ok(Math.abs(total - 268_098_176) < 1e5, `${total}`);
  // The estimate (which counts a classifier head) is exact on a model we can build.
  const small = new Gemma3ForSequenceClassification(tiny({ numHiddenLayers: 2, layerTypes: ["sliding_attention", "full_attention"] }));
  assert.equal(estimateParameterCount(gemmaShape(small.config)).total, small.numParameters());
});

test("gemma norms scale by (1 + weight), initialised at 0; embeddings by float32 sqrt(hidden): in the module (Gemma 3) or the model (Gemma 2)", () => {
  const m = new Gemma3ForCausalLM(tiny());
  const norms = [...m.namedModules()].filter(([, mod]) => mod instanceof RMSNorm).map(([n]) => n);
  assert.equal(norms.length, 7, norms.join());
  for (const [n, p] of m.namedParameters()) if (/norm\.weight$/.test(n)) assert.ok(p.data.every((v) => v === 0), n);
  const x = tensor([[[1, 2, 3, 4]]]);
  assert.deepEqual(Array.from(new RMSNorm(4, 0, { unitOffset: true }).forward(x).data).map((v) => v.toFixed(5)),
    Array.from(new RMSNorm(4, 0).forward(x).data).map((v) => v.toFixed(5)));
  const ids = tensor([[5, 7]], { dtype: "int32" });
  const raw = m.model.embedTokens.weight.data.subarray(5 * 16, 5 * 16 + 16);
  const scaled = m.model.embedTokens.forward(ids).data.subarray(0, 16);
  raw.forEach((v, i) => assert.equal(scaled[i], Math.fround(v * Math.fround(4))));
  const g2 = new Gemma3ForCausalLM(tiny({ modelType: "gemma2" }));
  assert.deepEqual(Array.from(g2.model.embedTokens.forward(ids).data), Array.from(g2.model.embedTokens.weight.data.subarray(5 * 16, 6 * 16)).concat(
    Array.from(g2.model.embedTokens.weight.data.subarray(7 * 16, 8 * 16))), "Gemma 2's embedding module does not scale");
  // Gemma 2 scales inputsEmbeds too: feeding the raw rows reproduces the ids' forward.
  const viaIds = noGrad(() => g2.forward({ inputIds: ids }).logits);
  const viaEmbeds = noGrad(() => g2.forward({ inputsEmbeds: g2.model.embedTokens.forward(ids) }).logits);
  assertCloseRel("gemma2 inputsEmbeds", viaEmbeds, viaIds, 1e-7);
});

test("sliding layer: a token sees exactly the last `window` tokens; a full layer sees them all", () => {
  const window = 3;
  // One RoPE base for both layer kinds, so that only the window differs between them.
  const m = fresh(tiny({ slidingWindow: window, ropeLocalBaseFreq: 500 }));
  const ids = [[5, 9, 1, 33, 2, 17, 8]];
  const full = noGrad(() => m.forward({ inputIds: ids }).logits);
  // RoPE scores depend on relative positions only, so the window alone reproduces a row.
  for (let t = window; t < ids[0].length; t++) {
    const alone = noGrad(() => m.forward({ inputIds: [ids[0].slice(t - window + 1, t + 1)] }).logits);
    assertCloseRel(`position ${t}`, slice(full, 1, t, t + 1), slice(alone, 1, window - 1, window), 1e-5);
  }
  const global = fresh(tiny({ slidingWindow: window, ropeLocalBaseFreq: 500, layerTypes: ["full_attention"] }));
  global.loadStateDict(m.stateDict());
  const all = noGrad(() => global.forward({ inputIds: ids }).logits);
  assertCloseRel("the first window positions agree", slice(all, 1, 0, window), slice(full, 1, 0, window), 2e-6);
  const last = (t: typeof all) => slice(t, 1, 6, 7);
  assert.ok(last(all).data.some((v, i) => Math.abs(v - last(full).data[i]) > 1e-3), "a full layer sees beyond the window");
});

test("sliding layer with a prefix (prefix tuning): the prefix sits at cache positions 0 .. P-1 and leaves the window like any token", () => {
  const window = 4, nvt = 3, head = 6;
  const m = fresh(tiny({ slidingWindow: window }));
  manualSeed(5);
  const past = [{ key: randn([1, 2, nvt, head]), value: randn([1, 2, nvt, head]) }];
  const ids = [[5, 9, 1, 33, 2, 17, 8]];
  const withPrefix = noGrad(() => m.forward({ inputIds: ids, pastKeyValues: past, attentionMask: [new Array(nvt + 7).fill(1)] }).logits);
  const without = noGrad(() => m.forward({ inputIds: ids }).logits);
  // Query t (cache position nvt + t) sees prefix entries after nvt + t - window: none once t >= window - 1.
  assertCloseRel("beyond the window", slice(withPrefix, 1, window - 1, 7), slice(without, 1, window - 1, 7), 1e-5);
  const first = (t: typeof without) => slice(t, 1, 0, window - 1);
  assert.ok(first(withPrefix).data.some((v, i) => Math.abs(v - first(without).data[i]) > 1e-3), "the prefix reaches the first tokens");
});

test("gemma2 caps attention scores and final logits with tanh", () => {
  const cap = 0.05;
  const m = fresh(tiny({ modelType: "gemma2", finalLogitSoftcapping: cap, attnLogitSoftcapping: 0.1 }));
  const out = noGrad(() => m.forward({ inputIds: [[5, 9, 1, 33]] }).logits);
  assert.ok(out.data.every((v) => Math.abs(v) <= cap), "final logits within the cap");
  const uncapped = fresh(tiny({ modelType: "gemma2", finalLogitSoftcapping: null, attnLogitSoftcapping: null }));
  uncapped.loadStateDict(m.stateDict());
  const raw = noGrad(() => uncapped.forward({ inputIds: [[5, 9, 1, 33]] }).logits);
  assert.ok(raw.data.some((v) => Math.abs(v) > cap));
});

test("gemma savePretrained writes transformers' names and layer_types, and reloads to the same logits", async () => {
  const inputs = loadInputs("gemma2");
  const m = await AutoModelForCausalLM.fromPretrained(fixtureDir("gemma2"), quiet);
  const out = join(dir, "gemma2");
  await m.savePretrained(out);
  const config = JSON.parse(await readFile(join(out, "config.json"), "utf8"));
  assert.deepEqual(config.architectures, ["Gemma2ForCausalLM"]);
  assert.deepEqual(config.layer_types, ["sliding_attention", "full_attention", "sliding_attention"]);
  assert.equal(config.attn_logit_softcapping, 5);
  assert.equal(config.rope_local_base_freq, undefined);
  const again = await AutoModelForCausalLM.fromPretrained(out, quiet);
  assertCloseRel("logits", again.forward(inputs).logits, loadTensors("gemma2", "expected.safetensors").get("logits")!);

  const cls = await AutoModelForSequenceClassification.fromPretrained(fixtureDir("gemma3"), { ...quiet, numLabels: 3 });
  await cls.savePretrained(join(dir, "gemma3-cls"));
  const clsConfig = JSON.parse(await readFile(join(dir, "gemma3-cls", "config.json"), "utf8"));
  assert.deepEqual(clsConfig.architectures, ["Gemma3TextForSequenceClassification"]);
  assert.equal(clsConfig.rope_local_base_freq, 300);
  assert.deepEqual(clsConfig.rope_scaling, { factor: 4, rope_type: "linear" });
  assert.equal(new Gemma3TextModel(tiny()).architectureName(), "Gemma3TextModel");
});

for (const fixture of FIXTURES) {
  test(`${fixture} sequence classifier: the score head on the last non-pad token, uncapped, batched as alone`, async () => {
    const inputs = loadInputs(fixture);
    const cls = await Gemma3ForSequenceClassification.fromPretrained(fixtureDir(fixture), { ...quiet, numLabels: 3 });
    const out = cls.forward({ inputIds: inputs.inputIds, attentionMask: inputs.attentionMask, labels: [2, 0, 1] });
    assert.deepEqual(out.logits.shape, [3, 3]);
    assert.ok(Number.isFinite(out.loss!.item()));
    const hidden = loadTensors(fixture, "expected.safetensors").get("last_hidden_state")!;
    noGrad(() => inputs.inputIds.forEach((row, b) => {
      const len = inputs.attentionMask[b].reduce((s, v) => s + v, 0);
      const expected = cls.score.forward(slice(slice(hidden, 0, b, b + 1), 1, len - 1, len));
      assertCloseRel(`row ${b} from the fixture's hidden state`, tensor([Array.from(out.logits.data.subarray(b * 3, b * 3 + 3))]), tensor([Array.from(expected.data)]));
      const single = cls.forward({ inputIds: [row.slice(0, len)] }).logits;
      assertCloseRel(`row ${b} alone`, tensor([Array.from(out.logits.data.subarray(b * 3, b * 3 + 3))]), single);
    }));
    assert.deepEqual(cls.classifierModules(), ["score"]);
  });
}
