import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSafetensorsSync } from "../../src/io/safetensors.js";
import { AutoModelForCausalLM, AutoModelForSequenceClassification } from "../../src/models/index.js";
import type { PreTrainedModel } from "../../src/models/pretrained.js";
import { Conv1D, Linear } from "../../src/nn/index.js";
import { IA3Config, IA3Linear, PeftModel, getPeftModel, peftConfigFromJson } from "../../src/peft/index.js";
import { Tensor, defaultGenerator, manualSeed, mul, noGrad, sum, tensor } from "../../src/tensor/index.js";
import { assertCloseRel, fixtureDir, loadInputs, loadJson } from "../helpers/fixtures.js";

const MODELS = ["distilbert", "bert", "gpt2", "llama", "qwen3", "phi3", "roberta", "gemma3"];
/** One saved key per family and its shape: [1, in] for feed-forward targets, [out, 1] otherwise. */
const SAMPLE_KEYS: Record<string, [string, number[]]> = {
  distilbert: ["base_model.model.distilbert.transformer.layer.0.ffn.lin2.ia3_l", [1, 64]],
  bert: ["base_model.model.bert.encoder.layer.0.attention.output.dense.ia3_l", [1, 32]],
  gpt2: ["base_model.model.transformer.h.0.attn.c_attn.ia3_l", [96, 1]],
  llama: ["base_model.model.model.layers.0.self_attn.k_proj.ia3_l", [16, 1]],
  roberta: ["base_model.model.roberta.encoder.layer.0.attention.output.dense.ia3_l", [1, 32]],
  qwen3: ["base_model.model.model.layers.0.self_attn.q_proj.ia3_l", [64, 1]],
  phi3: ["base_model.model.model.layers.0.self_attn.qkv_proj.ia3_l", [64, 1]],
  gemma3: ["base_model.model.model.layers.0.self_attn.q_proj.ia3_l", [48, 1]],
};
const causal = (model: string) => !["distilbert", "bert", "roberta"].includes(model);

async function loadBase(model: string): Promise<PreTrainedModel> {
  const auto = causal(model) ? AutoModelForCausalLM : AutoModelForSequenceClassification;
  return (await auto.fromPretrained(fixtureDir(model))).eval();
}

/** The (IA)³ vector sizes PEFT's defaults give, from config.json: output width for attention
 *  targets, input width for feed-forward ones (for BERT both dense outputs count as feed-forward). */
function expectedIa3Numel(model: string): number {
  const c = loadJson(model, "config.json") as Record<string, number>;
  switch (model) {
    case "distilbert": return c.n_layers * (2 * c.dim + c.hidden_dim);
    case "bert":
    case "roberta": return c.num_hidden_layers * (2 * c.hidden_size + c.hidden_size + c.intermediate_size);
    case "gpt2": return c.n_layer * (3 * c.n_embd + 4 * c.n_embd);
    // PEFT scales Qwen3's and Gemma's queries (not keys): q_proj, v_proj outputs and down_proj's input.
    case "qwen3":
    case "gemma3": return c.num_hidden_layers * ((c.num_attention_heads + c.num_key_value_heads) * c.head_dim + c.intermediate_size);
    case "phi3": return c.num_hidden_layers * ((c.num_attention_heads + 2 * c.num_key_value_heads) * (c.hidden_size / c.num_attention_heads) + c.intermediate_size);
    default: return c.num_hidden_layers * (2 * c.num_key_value_heads * c.head_dim + c.intermediate_size);
  }
}

function randomizeIa3(peft: PeftModel, seed: number): void {
  manualSeed(seed);
  for (const [n, p] of peft.namedParameters()) if (n.includes(".ia3_l.")) for (let i = 0; i < p.numel; i++) p.data[i] = 1 + 0.3 * defaultGenerator.normal();
}

const differs = (a: Tensor, b: Tensor) => a.data.some((v, i) => Math.abs(v - b.data[i]) > 1e-4);

for (const model of MODELS) {
  test(`${model} IA3: identity when fresh, gradients only to the vectors and heads, merge, save/load`, async () => {
    const inputs = loadInputs(model);
    const base = await loadBase(model);
    const baseAll = base.numParameters();
    const baseLogits = noGrad(() => base.forward(inputs).logits);
    const peft = getPeftModel(base, new IA3Config({ taskType: causal(model) ? "CAUSAL_LM" : "SEQ_CLS" }));
    peft.eval();
    assertCloseRel("fresh adapter", noGrad(() => peft.forward(inputs).logits), baseLogits, 1e-6);

    const ia3 = [...peft.namedParameters()].filter(([n]) => n.includes(".ia3_l."));
    assert.ok(ia3.every(([n]) => /^base_model\.model\..+\.ia3_l\.default$/.test(n)), "PEFT's in-memory names");
    const ia3Numel = ia3.reduce((s, [, p]) => s + p.numel, 0);
    assert.equal(ia3Numel, expectedIa3Numel(model));
    const heads = [...peft.namedParameters()].filter(([n]) => n.includes(".modules_to_save.default."));
    const headNumel = heads.reduce((s, [, p]) => s + p.numel, 0);
    // DistilBERT's pre_classifier and classifier; RoBERTa's classifier.dense and classifier.out_proj.
    assert.equal(heads.length, causal(model) ? 0 : model === "distilbert" || model === "roberta" ? 4 : 2);
    assert.deepEqual(peft.getNbTrainableParameters(), { trainable: ia3Numel + headNumel, all: baseAll + ia3Numel + headNumel });
    const logged: string[] = [];
    const log = console.log;
    console.log = (s: string) => logged.push(s);
    try { peft.printTrainableParameters(); } finally { console.log = log; }
    const [trainable, all] = [ia3Numel + headNumel, baseAll + ia3Numel + headNumel];
    const n = (v: number) => v.toLocaleString("en-US");
    assert.deepEqual(logged, [`trainable params: ${n(trainable)} || all params: ${n(all)} || trainable%: ${((100 * trainable) / all).toFixed(4)}`]);

    randomizeIa3(peft, 7);
    const out = peft.forward(inputs);
    assert.ok(differs(out.logits, baseLogits), "trained vectors change the output");
    out.loss!.backward();
    for (const [n, p] of peft.namedParameters()) {
      const adapterOrHead = n.includes(".ia3_l.default") || n.includes(".modules_to_save.default.");
      assert.equal(p.requiresGrad, adapterOrHead, n);
      if (adapterOrHead) assert.ok(p.grad && p.grad.data.some((v) => v !== 0), `${n}: no gradient`);
      else assert.equal(p.grad, null, `${n}: frozen but has a gradient`);
    }

    const dir = await mkdtemp(join(tmpdir(), "finetune-ia3-"));
    try {
      await peft.savePretrained(dir);
      const saved = loadSafetensorsSync(join(dir, "adapter_model.safetensors")).tensors;
      const expectedKeys = [...ia3, ...heads].map(([n]) => n.replace(".modules_to_save.default.", ".").replace(/\.default$/, ""));
      assert.deepEqual([...saved.keys()].sort(), expectedKeys.sort());
      for (const [n, p] of ia3) assert.deepEqual(saved.get(n.replace(/\.default$/, ""))!.shape, p.shape, n);
      assert.deepEqual(saved.get(SAMPLE_KEYS[model][0])?.shape, SAMPLE_KEYS[model][1]);
      const config = JSON.parse(await readFile(join(dir, "adapter_config.json"), "utf8"));
      assert.equal(config.peft_type, "IA3");
      assert.equal(config.inference_mode, true);
      assert.equal(config.fan_in_fan_out, model === "gpt2", "forced on for GPT-2's Conv1D");
      assert.ok(Array.isArray(config.target_modules) && Array.isArray(config.feedforward_modules), "defaults are recorded");
      const sizes = await Promise.all([stat(join(dir, "adapter_model.safetensors")), stat(fixtureDir(model, "model.safetensors"))]);
      assert.ok(sizes[0].size * 10 < sizes[1].size, `adapter file ${sizes[0].size} bytes vs model ${sizes[1].size}`);

      const adapted = noGrad(() => peft.forward(inputs).logits);
      const reloaded = await PeftModel.fromPretrained(await loadBase(model), dir);
      reloaded.eval();
      assertCloseRel("reloaded", noGrad(() => reloaded.forward(inputs).logits), adapted, 1e-7);
      assert.equal(reloaded.getNbTrainableParameters().trainable, 0);

      reloaded.mergeAdapter();
      assertCloseRel("merged in place", noGrad(() => reloaded.forward(inputs).logits), adapted);
      reloaded.unmergeAdapter();
      assertCloseRel("unmerged", noGrad(() => reloaded.forward(inputs).logits), adapted);
      assertCloseRel("unmerged base", noGrad(() => reloaded.disableAdapter(() => reloaded.forward(inputs).logits)), baseLogits);

      const merged = peft.mergeAndUnload();
      assert.ok(![...merged.namedParameters()].some(([n]) => /ia3_l|base_layer|modules_to_save|original_module/.test(n)));
      assertCloseRel("merge_and_unload", noGrad(() => merged.forward(inputs).logits), adapted);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test("IA3 scales a Linear's output, or a feed-forward module's input, as hand-computed", () => {
  const x = tensor([[1, 2, 3], [-1, 0.5, 2]]);
  const w = tensor([[0.5, -1, 2], [1, 0, -0.5]]), b = tensor([0.25, -2]);
  const lin = () => {
    const l = new Linear(3, 2);
    l.weight.copy_(w);
    l.bias!.copy_(b);
    return l.requiresGrad(false);
  };
  const base = [[0.25 + 0.5 - 2 + 6, -2 + 1 - 1.5], [0.25 - 0.5 - 0.5 + 4, -2 - 1 - 1]];

  const out = new IA3Linear(lin(), false);
  out.addAdapter("default", false);
  out.activeAdapter = "default";
  assert.deepEqual(out.ia3L.get("default")!.shape, [2, 1]);
  out.ia3L.get("default")!.copy_(tensor([[2], [-0.5]]));
  const y = out.forward(x);
  assert.deepEqual(Array.from(y.data), [base[0][0] * 2, base[0][1] * -0.5, base[1][0] * 2, base[1][1] * -0.5]);
  // d sum(y * g) / d l_o = sum over rows of g * base(x)_o.
  const g = tensor([[1, 2], [3, -1]]);
  sum(mul(y, g)).backward();
  assert.deepEqual(Array.from(out.ia3L.get("default")!.grad!.data), [base[0][0] + 3 * base[1][0], 2 * base[0][1] - base[1][1]]);
  assert.equal(out.baseLayer.weight.grad, null);

  const ff = new IA3Linear(lin(), true);
  ff.addAdapter("default", true);
  ff.activeAdapter = "default";
  assert.deepEqual(ff.ia3L.get("default")!.shape, [1, 3]);
  ff.ia3L.get("default")!.copy_(tensor([[2, 1, -1]]));
  // W (x * l) + b for row 0: x * l = [2, 2, -3].
  const yf = ff.forward(x);
  assert.deepEqual(Array.from(yf.data.slice(0, 2)), [0.25 + 1 - 2 - 6, -2 + 2 + 1.5]);
  // d sum(y * g) / d l_i = sum over rows of x_i * (g W)_i.
  sum(mul(yf, g)).backward();
  const gW = [[1 * 0.5 + 2 * 1, -1, 2 - 1], [3 * 0.5 - 1, -3, 6 + 0.5]];
  const expected = [0, 1, 2].map((i) => x.data[i] * gW[0][i] + x.data[3 + i] * gW[1][i]);
  assert.deepEqual(Array.from(ff.ia3L.get("default")!.grad!.data), expected);
});

test("IA3 merge folds the vector into the weight (and bias for output scaling); Conv1D layout", () => {
  for (const feedforward of [false, true]) {
    const linear = new Linear(3, 2), conv = new Conv1D(2, 3);
    conv.weight.copy_(linear.weight.transpose(0, 1));
    conv.bias.copy_(linear.bias!);
    const layers = [new IA3Linear(linear, feedforward), new IA3Linear(conv, feedforward)];
    const x = tensor([[0.3, -1.2, 2.0], [1.5, 0.1, -0.7]]);
    const l = feedforward ? tensor([[1.5, -0.5, 2]]) : tensor([[3], [0.25]]);
    for (const layer of layers) {
      layer.addAdapter("default", true);
      layer.ia3L.get("default")!.copy_(l);
      layer.activeAdapter = "default";
    }
    const adapted = layers.map((m) => m.forward(x));
    assertCloseRel("Linear vs Conv1D", adapted[1], adapted[0], 1e-7);
    const w0 = Float32Array.from(linear.weight.data), b0 = Float32Array.from(linear.bias!.data);
    layers.forEach((m) => m.merge("default"));
    for (let o = 0; o < 2; o++) {
      for (let i = 0; i < 3; i++) {
        const want = Math.fround(w0[o * 3 + i] * l.data[feedforward ? i : o]);
        assert.equal(linear.weight.data[o * 3 + i], want);
        assert.equal(conv.weight.data[i * 2 + o], want);
      }
      const bias = feedforward ? b0[o] : Math.fround(b0[o] * l.data[o]);
      assert.equal(linear.bias!.data[o], bias);
      assert.equal(conv.bias.data[o], bias);
    }
    layers.forEach((m, k) => assertCloseRel(`merged ${k}`, m.forward(x), adapted[k], 1e-6));
    layers.forEach((m) => m.unmerge());
    assertCloseRel("unmerged weight", linear.weight, new Tensor(w0, [2, 3]), 1e-6);
  }
});

test("IA3Config: PEFT's file round trip, subset check, DistilBERT defaults, clear target errors", async () => {
  assert.throws(() => new IA3Config({ targetModules: ["k_lin"], feedforwardModules: ["lin2"] }), /subset of target_modules; not targeted: lin2/);
  const peft = getPeftModel(await loadBase("distilbert"), new IA3Config({ taskType: "SEQ_CLS" }));
  const config = peft.activeConfig as IA3Config;
  assert.deepEqual(config.targetModules, ["k_lin", "v_lin", "lin2"]);
  assert.deepEqual(config.feedforwardModules, ["lin2"]);
  const roles = [...peft.adapterLayers()].map(([n, l]) => `${n.split(".").slice(-2).join(".")}:${(l as IA3Linear).isFeedforward}`);
  assert.deepEqual([...new Set(roles)].sort(), ["attention.k_lin:false", "attention.v_lin:false", "ffn.lin2:true"]);
  const json = config.toJSON();
  assert.equal(json.init_ia3_weights, true);
  const again = peftConfigFromJson(JSON.parse(JSON.stringify(json)));
  assert.ok(again instanceof IA3Config);
  assert.deepEqual(again.toJSON(), json);
  await assert.rejects(async () => getPeftModel(await loadBase("llama"), new IA3Config({ targetModules: ["q_lin"], feedforwardModules: [] })),
    /IA3Config: target modules \["q_lin"\] not found in the base model \(llama\)/);
  const regex = getPeftModel(await loadBase("llama"), new IA3Config({ taskType: "CAUSAL_LM", targetModules: ".*\\.(k_proj|down_proj)", feedforwardModules: ".*down_proj" }));
  assert.deepEqual([...regex.adapterLayers()].map(([n, l]) => `${n}:${(l as IA3Linear).isFeedforward}`).slice(0, 2),
    ["model.layers.0.self_attn.k_proj:false", "model.layers.0.mlp.down_proj:true"]);
});

test("IA3: all-linear skips the output head; a second adapter switches output and trainable set", async () => {
  const all = getPeftModel(await loadBase("gpt2"), new IA3Config({ taskType: "CAUSAL_LM", targetModules: "all-linear" }));
  assert.deepEqual([...new Set([...all.adapterLayers()].map(([n]) => n.replace(/\.\d+\./, ".*.")))],
    ["transformer.h.*.attn.c_attn", "transformer.h.*.attn.c_proj", "transformer.h.*.mlp.c_fc", "transformer.h.*.mlp.c_proj"]);

  const peft = getPeftModel(await loadBase("llama"), new IA3Config({ taskType: "CAUSAL_LM", initIa3Weights: false }));
  peft.addAdapter("second", new IA3Config({ taskType: "CAUSAL_LM", targetModules: ["k_proj"], feedforwardModules: [], initIa3Weights: false }));
  peft.eval();
  const inputs = loadInputs("llama");
  const second = noGrad(() => peft.forward(inputs).logits);
  assert.ok([...peft.namedParameters()].filter(([, p]) => p.requiresGrad).every(([n]) => n.endsWith(".ia3_l.second")));
  peft.setAdapter("default");
  assert.ok(differs(noGrad(() => peft.forward(inputs).logits), second));
  assert.ok([...peft.namedParameters()].filter(([, p]) => p.requiresGrad).every(([n]) => n.endsWith(".ia3_l.default")));
});
