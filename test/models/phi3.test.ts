// Phi-3 (a model type of the Llama family): the fixture of scripts/fixtures/families/phi3.py on both backends for
// every method folder, and what sets Phi-3 apart: fused qkv_proj and gate_up_proj, partial rotary embeddings, a
// sliding window, residual dropout, its defaults and what it refuses; and the real Phi-3-mini tokenizer driving a
// tiny Phi-3 model.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { AutoModelForCausalLM } from "../../src/models/index.js";
import { LlamaForCausalLM, LlamaForSequenceClassification, llamaConfig, parseLlamaConfig } from "../../src/models/llama/index.js";
import { applyRope, ropeInverseFrequencies, ropeTable } from "../../src/models/llama/rope.js";
import { manualSeed, noGrad, slice } from "../../src/tensor/index.js";
import { AutoTokenizer } from "../../src/tokenizers/index.js";
import { gradcheck, randn64 } from "../helpers/gradcheck.js";
import { assertCloseRel, fixtureDir, loadInputs, loadTensors } from "../helpers/fixtures.js";
import { scratchDir } from "../helpers/temp-dir.js";
import { peftFixtureTests } from "../peft/method-cases.js";
import { decoderFixtureTests } from "./decoder-cases.js";

const quiet = { onWarning: () => {} };
const load = (dir: string) => AutoModelForCausalLM.fromPretrained(dir, quiet);
decoderFixtureTests({ model: "phi3", load, lastLayers: ["model.layers.1", "model.norm", "lm_head"] });
peftFixtureTests("phi3");

const inputs = loadInputs("phi3");
const tiny = (extra: Parameters<typeof llamaConfig>[0] = {}) => llamaConfig({
  modelType: "phi3", vocabSize: 40, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2,
  maxPositionEmbeddings: 64, padTokenId: 0, ...extra,
});

test("phi3: fused qkv_proj (q | k | v with GQA sizes) and gate_up_proj, in transformers' order, no biases", async () => {
  const m = await load(fixtureDir("phi3")) as LlamaForCausalLM;
  const params = new Map(m.namedParameters());
  // 4 query heads and 2 key/value heads of 8 dims: 32 + 16 + 16 outputs.
  assert.deepEqual(params.get("model.layers.0.self_attn.qkv_proj.weight")!.shape, [64, 32]);
  assert.deepEqual(params.get("model.layers.0.mlp.gate_up_proj.weight")!.shape, [96, 32]);
  assert.deepEqual(params.get("model.layers.0.mlp.down_proj.weight")!.shape, [32, 48]);
  assert.deepEqual([...params.keys()].filter((n) => n.startsWith("model.layers.0.")).map((n) => n.slice("model.layers.0.".length)),
    ["self_attn.o_proj.weight", "self_attn.qkv_proj.weight", "mlp.gate_up_proj.weight", "mlp.down_proj.weight",
      "input_layernorm.weight", "post_attention_layernorm.weight"]);
  assert.notEqual(m.lmHead.weight, m.model.embedTokens.weight);
  assert.equal(m.model.embedTokens.paddingIdx, 2, "the pad (= eos) row");
});

test("phi3: the query, key and value thirds of qkv_proj and the gate/up halves are not interchangeable", async () => {
  const ref = loadTensors("phi3", "expected.safetensors").get("logits")!;
  const swapped = async (key: string, rows: number, a: number, b: number) => {
    const m = await load(fixtureDir("phi3"));
    const w = new Map(m.namedParameters()).get(key)!, width = w.shape[1];
    const copy = Float32Array.from(w.data);
    for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) {
      w.data[(a + r) * width + c] = copy[(b + r) * width + c];
      w.data[(b + r) * width + c] = copy[(a + r) * width + c];
    }
    return noGrad(() => m.forward(inputs).logits);
  };
  const differs = (t: { data: ArrayLike<number> }) => Array.from(t.data).some((v, i) => Math.abs(v - ref.data[i]) > 1e-3);
  assert.ok(differs(await swapped("model.layers.0.self_attn.qkv_proj.weight", 16, 32, 48)), "keys and values swapped");
  assert.ok(differs(await swapped("model.layers.0.mlp.gate_up_proj.weight", 48, 0, 48)), "gate and up swapped");
});

test("phi3 savePretrained writes Phi-3's fields back and reloads to the same logits", async () => {
  const m = await load(fixtureDir("phi3"));
  const out = join(await scratchDir("finetune-phi3-"), "saved");
  await m.savePretrained(out);
  const config = JSON.parse(await readFile(join(out, "config.json"), "utf8"));
  assert.deepEqual([config.model_type, config.partial_rotary_factor, config.resid_pdrop, config.sliding_window, config.rms_norm_eps],
    ["phi3", 0.75, 0, 6, 1e-4]);
  assertCloseRel("logits", (await load(out)).forward(inputs).logits, loadTensors("phi3", "expected.safetensors").get("logits")!);
});

test("partial rotary embeddings: the first rotaryDim dims rotate, the rest pass through; gradcheck", () => {
  const inv = ropeInverseFrequencies(4, 100, null);
  assert.equal(inv.length, 2);
  const t = ropeTable(inv, [2, 3, 4], 1, 3);
  gradcheck("partial rope", (x) => applyRope(x, t), [randn64([2, 2, 3, 6])]);
  const x = randn64([1, 2, 3, 6], false), y = applyRope(x, t);
  for (let i = 0; i < x.numel; i++) if (i % 6 >= 4) assert.equal(y.data[i], x.data[i]);
  assert.ok(Array.from(y.data).some((v, i) => i % 6 < 4 && v !== x.data[i]));
  assert.throws(() => applyRope(randn64([1, 1, 3, 2], false), t), /rope: input \[1,1,3,2\] does not match a table of 1 x 3 positions x 4/);
});

test("phi3 config: transformers' defaults, partial_rotary_factor, and the refused long-context RoPE", () => {
  const d = parseLlamaConfig({ model_type: "phi3" }, "c.json");
  assert.deepEqual([d.vocabSize, d.hiddenSize, d.numKeyValueHeads, d.headDim, d.rotaryDim, d.rmsNormEps, d.bosTokenId, d.eosTokenId, d.padTokenId, d.slidingWindow],
    [32064, 3072, 32, 96, 96, 1e-5, 1, 32000, 32000, null]);
  assert.ok(d.fusedProjections && !d.qkNorm && !d.tieWordEmbeddings && d.residPdrop === 0);
  // Phi-4-mini: 3072 / 24 heads = 128 dims, of which 96 rotate.
  assert.equal(parseLlamaConfig({ model_type: "phi3", num_attention_heads: 24, num_key_value_heads: 8, partial_rotary_factor: 0.75 }, "c.json").rotaryDim, 96);
  assert.equal(parseLlamaConfig({ model_type: "phi3", sliding_window: 2047 }, "c.json").slidingWindow, 2047);
  for (const type of ["longrope", "su", "yarn", "linear"])
    assert.throws(() => parseLlamaConfig({ model_type: "phi3", rope_scaling: { type, short_factor: [1], long_factor: [1] } }, "/m/config.json"),
      new RegExp(`/m/config\\.json: config field "rope_scaling" has type "${type}"; Phi-3 long-context RoPE scaling \\(longrope, su, yarn\\) is not supported`));
  // transformers 5 writes the rotary settings in rope_parameters.
  const v5 = parseLlamaConfig({ model_type: "phi3", rope_parameters: { rope_type: "default", rope_theta: 25000, partial_rotary_factor: 0.5 } }, "c.json");
  assert.deepEqual([v5.ropeTheta, v5.rotaryDim, v5.ropeScaling], [25000, 48, null]);
  assert.throws(() => parseLlamaConfig({ model_type: "phi3", rope_parameters: { rope_type: "longrope", rope_theta: 1e4, short_factor: [1] } }, "/m/config.json"),
    /\/m\/config\.json: config field "rope_parameters" has type "longrope"; Phi-3 long-context RoPE scaling/);
  assert.throws(() => parseLlamaConfig({ model_type: "phi3", partial_rotary_factor: 0.1 }, "c.json"), /partial_rotary_factor.*rotates 9 of head_dim 96 dims; that must be even/);
  assert.throws(() => parseLlamaConfig({ model_type: "phi3", partial_rotary_factor: 1.5 }, "c.json"), /partial_rotary_factor" must be at most 1/);
  assert.throws(() => parseLlamaConfig({ model_type: "phi3", resid_pdrop: 1 }, "c.json"), /resid_pdrop" must be below 1/);
});

test("phi3 resid_pdrop: dropout on both sub-layer outputs in training, none in eval", () => {
  manualSeed(5);
  const m = new LlamaForCausalLM(tiny({ residPdrop: 0.5 }));
  const ids = [[5, 9, 1, 33, 2, 17]];
  m.eval();
  const evalA = noGrad(() => m.forward({ inputIds: ids }).logits), evalB = noGrad(() => m.forward({ inputIds: ids }).logits);
  assert.deepEqual(Array.from(evalA.data), Array.from(evalB.data));
  m.train();
  const trained = noGrad(() => m.forward({ inputIds: ids }).logits);
  assert.ok(Array.from(trained.data).some((v, i) => Math.abs(v - evalA.data[i]) > 1e-4));
  const plain = new LlamaForCausalLM(tiny());
  plain.loadStateDict(m.stateDict());
  plain.train();
  assertCloseRel("resid_pdrop 0 trains like eval", noGrad(() => plain.forward({ inputIds: ids }).logits), evalA, 1e-6);
});

test("phi3 sliding window: with one layer a token sees exactly the last `window` tokens", () => {
  manualSeed(3);
  const window = 3, ids = [[5, 9, 1, 33, 2, 17, 8]];
  const m = new LlamaForCausalLM(tiny({ numHiddenLayers: 1, slidingWindow: window, partialRotaryFactor: 0.5 }));
  m.eval();
  const full = noGrad(() => m.forward({ inputIds: ids }).logits);
  for (let t = window; t < ids[0].length; t++) {
    const alone = noGrad(() => m.forward({ inputIds: [ids[0].slice(t - window + 1, t + 1)] }).logits);
    assertCloseRel(`position ${t}`, slice(full, 1, t, t + 1), slice(alone, 1, window - 1, window), 1e-5);
  }
});

test("the Phi-3-mini tokenizer with a tiny Phi-3: ids and special tokens agree, no BOS, left padding, last-token classification", async () => {
  const tok = await AutoTokenizer.fromPretrained(fileURLToPath(new URL("../data/tokenizers/phi-3-mini", import.meta.url)));
  const config = parseLlamaConfig({ model_type: "phi3", hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, id2label: { 0: "neg", 1: "pos" } }, "tiny/config.json");
  // transformers' Phi3Config defaults are the tokenizer's: <s> = 1, <|endoftext|> = 32000 ends and pads.
  assert.deepEqual([tok.bosTokenId, tok.eosTokenId, tok.padTokenId], [config.bosTokenId, config.eosTokenId, config.padTokenId]);
  assert.ok(tok.length <= config.vocabSize);
  const texts = ["Hello world", "The quick brown fox jumps over the lazy dog."];
  const enc = await tok.call(texts, { padding: true });
  // add_bos_token is false in tokenizer_config.json: the rows start with text, padded on the left.
  assert.equal(tok.paddingSide, "left");
  assert.deepEqual(enc.inputIds[0].slice(-2), [15043, 3186]);
  assert.ok(enc.inputIds.every((row) => !row.includes(1)), "no <s>");
  const pad = enc.attentionMask[0].indexOf(1);
  assert.ok(pad > 0 && enc.inputIds[0].slice(0, pad).every((id) => id === 32000));

  manualSeed(11);
  const cls = new LlamaForSequenceClassification(config);
  cls.eval();
  // The score head reads the last non-pad token, which left padding puts at the end of every row.
  const batched = noGrad(() => cls.forward({ inputIds: enc.inputIds, attentionMask: enc.attentionMask }).logits);
  for (const [b, text] of texts.entries()) {
    const ids = await tok.encode(text);
    const alone = noGrad(() => cls.forward({ inputIds: [ids] }).logits);
    assertCloseRel(`row ${b}`, slice(batched, 0, b, b + 1), alone, 1e-5);
  }
});
