import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadSafetensors } from "../../src/io/safetensors.js";
import { AutoModelForCausalLM, AutoModelForSequenceClassification } from "../../src/models/index.js";
import {
  LlamaForCausalLM, LlamaForSequenceClassification, LlamaModel, llamaConfig, parseLlamaConfig,
} from "../../src/models/llama/index.js";
import { llamaAttentionMask } from "../../src/models/llama/attention.js";
import { applyRope, ropeInverseFrequencies, ropeTable } from "../../src/models/llama/rope.js";
import { manualSeed, noGrad, slice, tensor } from "../../src/tensor/index.js";
import { gradcheck, randn64 } from "../helpers/gradcheck.js";
import { assertCloseRel, fixtureDir, loadInputs, loadTensors } from "../helpers/fixtures.js";
import { tempDir } from "../io/fixtures.js";
import { decoderFixtureTests } from "./decoder-cases.js";

decoderFixtureTests({ model: "llama", load: (dir) => LlamaForCausalLM.fromPretrained(dir, { onWarning: () => {} }), lastLayers: ["model.layers.1", "model.norm", "lm_head"] });

let dir = "";
let cleanup = async () => {};
before(async () => { ({ dir, cleanup } = await tempDir("llama")); });
after(() => cleanup());

const quiet = { onWarning: () => {} };
const inputs = loadInputs("llama");
const tiny = (extra: Parameters<typeof llamaConfig>[0] = {}) => llamaConfig({
  vocabSize: 40, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2,
  maxPositionEmbeddings: 64, ropeTheta: 500, ...extra,
});

test("llama parameter names are transformers' keys; lm_head is separate unless tied", async () => {
  const m = await LlamaForCausalLM.fromPretrained(fixtureDir("llama"), quiet);
  const names = [...m.namedParameters()].map(([n]) => n);
  for (const key of ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.gate_proj.weight",
    "model.layers.0.input_layernorm.weight", "model.layers.1.post_attention_layernorm.weight", "model.norm.weight", "lm_head.weight"])
    assert.ok(names.includes(key), key);
  assert.notEqual(m.lmHead.weight, m.model.embedTokens.weight);
  assert.equal(m.model.embedTokens.paddingIdx, 0);
  const tied = new LlamaForCausalLM(tiny({ tieWordEmbeddings: true }));
  assert.equal(tied.lmHead.weight, tied.model.embedTokens.weight);
  assert.ok(![...tied.namedParameters()].some(([n]) => n === "lm_head.weight"));
  assert.deepEqual(tied.tiedKeys(), ["lm_head.weight"]);
});

test("llama savePretrained round-trips config and weights", async () => {
  const m = await LlamaForCausalLM.fromPretrained(fixtureDir("llama"), quiet);
  const out = join(dir, "saved");
  await m.savePretrained(out);
  const config = JSON.parse(await readFile(join(out, "config.json"), "utf8"));
  assert.equal(config.rope_theta, 50000);
  assert.equal(config.head_dim, 8);
  assert.equal(config.num_key_value_heads, 2);
  assert.equal(config.tie_word_embeddings, false);
  const { tensors } = await loadSafetensors(join(out, "model.safetensors"));
  assert.ok(tensors.has("lm_head.weight"));
  const again = await AutoModelForCausalLM.fromPretrained(out, quiet);
  assertCloseRel("logits", again.forward(inputs).logits, loadTensors("llama", "expected.safetensors").get("logits")!);
});

test("llama base model and sequence classifier load the causal-LM checkpoint", async () => {
  const base = await LlamaModel.fromPretrained(fixtureDir("llama"), quiet);
  assertCloseRel("last_hidden_state", base.forward({ inputIds: inputs.inputIds, attentionMask: inputs.attentionMask }).lastHiddenState!,
    loadTensors("llama", "expected.safetensors").get("last_hidden_state")!);
  const cls = await AutoModelForSequenceClassification.fromPretrained(fixtureDir("llama"), { ...quiet, numLabels: 3 }) as LlamaForSequenceClassification;
  const out = cls.forward({ inputIds: inputs.inputIds, attentionMask: inputs.attentionMask, labels: [2, 0, 1] });
  assert.deepEqual(out.logits.shape, [3, 3]);
  assert.ok(Number.isFinite(out.loss!.item()));
  noGrad(() => inputs.inputIds.forEach((row, b) => {
    const len = inputs.attentionMask[b].reduce((s, v) => s + v, 0);
    const single = cls.forward({ inputIds: [row.slice(0, len)] }).logits;
    assertCloseRel(`row ${b}`, tensor([Array.from(out.logits.data.subarray(b * 3, b * 3 + 3))]), single);
  }));
  assert.deepEqual(cls.classifierModules(), ["score"]);
});

test("RoPE: backward is the opposite rotation (gradcheck), per-sequence positions", () => {
  const inv = ropeInverseFrequencies(6, 100, null);
  const shared = ropeTable(inv, [3, 4, 5, 6], 1, 4);
  gradcheck("rope", (x) => applyRope(x, shared), [randn64([2, 3, 4, 6])]);
  const perRow = ropeTable(inv, [0, 1, 2, 3, 7, 8, 9, 10], 2, 4);
  gradcheck("rope per row", (x) => applyRope(x, perRow), [randn64([2, 3, 4, 6])]);
  // Position 0 is the identity; rotations preserve norms.
  const x = randn64([1, 1, 1, 6], false);
  assert.deepEqual(Array.from(applyRope(x, ropeTable(inv, [0], 1, 1)).data), Array.from(x.data));
});

test("RoPE frequencies: theta, linear and llama3 scaling", () => {
  const base = ropeInverseFrequencies(8, 10000, null);
  assert.deepEqual(Array.from(base), [1, 0.1, 0.01, 0.001].map(Math.fround));
  const linear = ropeInverseFrequencies(8, 10000, { type: "linear", factor: 4 });
  linear.forEach((v, i) => assert.equal(v, Math.fround(base[i] / 4)));
  const l3 = ropeInverseFrequencies(8, 10000, { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
  // wavelengths 6.3, 63, 628 stay (below 8192/4); 6283 lies between 2048 and 8192 and is blended.
  assert.deepEqual(Array.from(l3.subarray(0, 3)), Array.from(base.subarray(0, 3)));
  assert.ok(l3[3] < base[3] && l3[3] > base[3] / 8);
  assert.throws(() => parseLlamaConfig({ model_type: "llama", rope_scaling: { rope_type: "yarn", factor: 2 } }, "/m/config.json"), /\/m\/config\.json.*rope_scaling.*yarn/s);
});

test("llama config: GQA, head_dim, family defaults and clear errors", () => {
  assert.equal(tiny().headDim, 4);
  assert.equal(llamaConfig({ hiddenSize: 32, numAttentionHeads: 4 }).numKeyValueHeads, 4);
  assert.throws(() => parseLlamaConfig({ model_type: "llama", num_attention_heads: 6, num_key_value_heads: 4 }, "c.json"), /num_key_value_heads/);
  assert.throws(() => parseLlamaConfig({ model_type: "llama", hidden_size: 30, num_attention_heads: 4 }, "c.json"), /hidden_size.*divisible/);
  assert.throws(() => parseLlamaConfig({ model_type: "llama", rms_norm_eps: "x" }, "c.json"), /rms_norm_eps/);
  assert.throws(() => parseLlamaConfig({ model_type: "falcon" }, "c.json"), /model_type/);
  const qwen = llamaConfig({ modelType: "qwen2", vocabSize: 40, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 1, numAttentionHeads: 4, numKeyValueHeads: 2 });
  const names = [...new LlamaForCausalLM(qwen).namedParameters()].map(([n]) => n);
  assert.ok(names.includes("model.layers.0.self_attn.q_proj.bias") && names.includes("model.layers.0.self_attn.v_proj.bias"));
  assert.ok(!names.includes("model.layers.0.self_attn.o_proj.bias") && !names.includes("model.layers.0.mlp.up_proj.bias"));
  assert.throws(() => parseLlamaConfig({ model_type: "qwen2", use_sliding_window: true }, "c.json"), /use_sliding_window/);
  assert.equal(parseLlamaConfig({ model_type: "mistral" }, "c.json").slidingWindow, 4096);
  assert.deepEqual(parseLlamaConfig({ model_type: "llama", eos_token_id: [2, 7] }, "c.json").eosTokenId, [2, 7]);
});

test("mistral sliding window: with one layer a token sees exactly the last `window` tokens", () => {
  manualSeed(3);
  const window = 3;
  const m = new LlamaForCausalLM(tiny({ modelType: "mistral", numHiddenLayers: 1, slidingWindow: window }));
  m.eval();
  const ids = [[5, 9, 1, 33, 2, 17, 8]];
  const full = noGrad(() => m.forward({ inputIds: ids }).logits);
  // RoPE makes scores depend on relative positions only, so the window alone reproduces the last row.
  for (let t = window; t < ids[0].length; t++) {
    const alone = noGrad(() => m.forward({ inputIds: [ids[0].slice(t - window + 1, t + 1)] }).logits);
    assertCloseRel(`position ${t}`, slice(full, 1, t, t + 1), slice(alone, 1, window - 1, window), 1e-5);
  }
  const unwindowed = new LlamaForCausalLM(tiny({ numHiddenLayers: 1 }));
  unwindowed.loadStateDict(m.stateDict());
  const all = noGrad(() => unwindowed.forward({ inputIds: ids }).logits);
  assertCloseRel("first window positions agree", slice(all, 1, 0, window), slice(full, 1, 0, window));
});

test("llamaAttentionMask hides exactly the future keys, those past the sliding window, padding and other segments", () => {
  const FMIN = -3.4028234663852886e38;
  for (const [batch, queries, past, window, groups, padded, packed] of [
    [2, 5, 0, null, 1, false, false], [2, 4, 3, 2, 3, true, false], [1, 7, 0, 3, 2, true, true], [3, 1, 6, null, 2, true, false],
  ] as const) {
    const keys = past + queries;
    const padding = padded ? tensor(Array.from({ length: batch * keys }, (_, i) => (i % 4 === 1 ? 0 : 1)), { shape: [batch, keys] }) : null;
    const segments = packed ? Int32Array.from({ length: batch * queries }, (_, i) => (i % queries < 3 ? 0 : 1)) : null;
    const mask = llamaAttentionMask(padding, batch, queries, past, window, groups, segments);
    assert.deepEqual([mask.batch, mask.rows, mask.keys], [batch, groups * queries, keys]);
    for (let b = 0; b < batch; b++) for (let g = 0; g < groups; g++) for (let q = 0; q < queries; q++) for (let k = 0; k < keys; k++) {
      const at = past + q;
      const hidden = k > at || (window !== null && k <= at - window) || (padding !== null && padding.data[b * keys + k] === 0) ||
        (segments !== null && segments[b * queries + k] !== segments[b * queries + q]);
      assert.equal(mask.data[(b * groups * queries + g * queries + q) * keys + k], hidden ? FMIN : 0,
        `batch ${b} group ${g} query ${q} key ${k} (past ${past}, window ${window})`);
    }
  }
});
