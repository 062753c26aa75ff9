import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSafetensorsSync } from "../../src/io/safetensors.js";
import { AutoModelForCausalLM, AutoModelForSequenceClassification } from "../../src/models/index.js";
import type { PreTrainedModel } from "../../src/models/pretrained.js";
import { Linear } from "../../src/nn/index.js";
import { AdapterConfig, BottleneckAdapterLayer, PeftModel, getPeftModel, peftConfigFromJson } from "../../src/peft/index.js";
import { Tensor, defaultGenerator, manualSeed, noGrad, tensor } from "../../src/tensor/index.js";
import { assertCloseRel, fixtureDir, loadInputs } from "../helpers/fixtures.js";

const MODELS = ["distilbert", "bert", "gpt2", "llama", "qwen3", "phi3", "roberta"];
const causal = (model: string) => !["distilbert", "bert", "roberta"].includes(model);
const HIDDEN = 32, LAYERS = 2, BOTTLENECK = 4;

/** Layer-0 attention and feed-forward output projections, per family. */
const SITES: Record<string, [string, string]> = {
  distilbert: ["distilbert.transformer.layer.0.attention.out_lin", "distilbert.transformer.layer.0.ffn.lin2"],
  bert: ["bert.encoder.layer.0.attention.output.dense", "bert.encoder.layer.0.output.dense"],
  gpt2: ["transformer.h.0.attn.c_proj", "transformer.h.0.mlp.c_proj"],
  llama: ["model.layers.0.self_attn.o_proj", "model.layers.0.mlp.down_proj"],
  roberta: ["roberta.encoder.layer.0.attention.output.dense", "roberta.encoder.layer.0.output.dense"],
  qwen3: ["model.layers.0.self_attn.o_proj", "model.layers.0.mlp.down_proj"],
  phi3: ["model.layers.0.self_attn.o_proj", "model.layers.0.mlp.down_proj"],
};

async function loadBase(model: string): Promise<PreTrainedModel> {
  const auto = causal(model) ? AutoModelForCausalLM : AutoModelForSequenceClassification;
  return (await auto.fromPretrained(fixtureDir(model))).eval();
}

const config = (model: string, fields: ConstructorParameters<typeof AdapterConfig>[0] = {}) =>
  new AdapterConfig({ taskType: causal(model) ? "CAUSAL_LM" : "SEQ_CLS", bottleneckSize: BOTTLENECK, ...fields });

function randomizeAdapters(peft: PeftModel, seed: number): void {
  manualSeed(seed);
  for (const [n, p] of peft.namedParameters()) if (/\.adapter_(down|up)\./.test(n)) for (let i = 0; i < p.numel; i++) p.data[i] = 0.3 * defaultGenerator.normal();
}

const differs = (a: Tensor, b: Tensor) => a.data.some((v, i) => Math.abs(v - b.data[i]) > 1e-4);

for (const model of MODELS) {
  test(`${model} bottleneck adapters: identity when fresh, gradients only to adapters and heads, save/load, no merge`, async () => {
    const inputs = loadInputs(model);
    const base = await loadBase(model);
    const baseAll = base.numParameters();
    const baseLogits = noGrad(() => base.forward(inputs).logits);
    const peft = getPeftModel(base, config(model));
    peft.eval();
    assertCloseRel("fresh adapter", noGrad(() => peft.forward(inputs).logits), baseLogits, 1e-6);

    const wrapped = [...peft.adapterLayers()].map(([n]) => n);
    assert.equal(wrapped.length, 2 * LAYERS);
    assert.deepEqual(wrapped.slice(0, 2), SITES[model]);
    const adapters = [...peft.namedParameters()].filter(([n]) => /\.adapter_(down|up)\.default\.(weight|bias)$/.test(n));
    assert.ok(adapters.some(([n]) => n === `base_model.model.${SITES[model][0]}.adapter_down.default.weight`));
    const adapterNumel = adapters.reduce((s, [, p]) => s + p.numel, 0);
    assert.equal(adapterNumel, 2 * LAYERS * (2 * HIDDEN * BOTTLENECK + BOTTLENECK + HIDDEN));
    const heads = [...peft.namedParameters()].filter(([n]) => n.includes(".modules_to_save.default."));
    const headNumel = heads.reduce((s, [, p]) => s + p.numel, 0);
    assert.deepEqual(peft.getNbTrainableParameters(), { trainable: adapterNumel + headNumel, all: baseAll + adapterNumel + headNumel });

    randomizeAdapters(peft, 3);
    const out = peft.forward(inputs);
    assert.ok(differs(out.logits, baseLogits), "trained adapters change the output");
    out.loss!.backward();
    for (const [n, p] of peft.namedParameters()) {
      const adapterOrHead = /\.adapter_(down|up)\.default\./.test(n) || n.includes(".modules_to_save.default.");
      assert.equal(p.requiresGrad, adapterOrHead, n);
      if (adapterOrHead) assert.ok(p.grad && p.grad.data.some((v) => v !== 0), `${n}: no gradient`);
      else assert.equal(p.grad, null, `${n}: frozen but has a gradient`);
    }
    const adapted = noGrad(() => peft.forward(inputs).logits);
    assertCloseRel("disabled", noGrad(() => peft.disableAdapter(() => peft.forward(inputs).logits)), baseLogits, 1e-7);

    const dir = await mkdtemp(join(tmpdir(), "finetune-adapter-"));
    try {
      await peft.savePretrained(dir);
      const saved = loadSafetensorsSync(join(dir, "adapter_model.safetensors")).tensors;
      const expectedKeys = [...adapters, ...heads].map(([n]) => n.replace(".modules_to_save.default.", ".").replace(".default.", "."));
      assert.deepEqual([...saved.keys()].sort(), expectedKeys.sort());
      assert.deepEqual(saved.get(`base_model.model.${SITES[model][1]}.adapter_up.weight`)?.shape, [HIDDEN, BOTTLENECK]);
      const json = JSON.parse(await readFile(join(dir, "adapter_config.json"), "utf8"));
      assert.equal(json.peft_type, "BOTTLENECK_ADAPTER");
      assert.equal(json.bottleneck_size, BOTTLENECK);
      const sizes = await Promise.all([stat(join(dir, "adapter_model.safetensors")), stat(fixtureDir(model, "model.safetensors"))]);
      assert.ok(sizes[0].size * 10 < sizes[1].size, `adapter file ${sizes[0].size} bytes vs model ${sizes[1].size}`);

      const reloaded = await PeftModel.fromPretrained(await loadBase(model), dir);
      reloaded.eval();
      assertCloseRel("reloaded", noGrad(() => reloaded.forward(inputs).logits), adapted, 1e-7);
      assert.equal(reloaded.getNbTrainableParameters().trainable, 0);
      assert.throws(() => reloaded.mergeAndUnload(), /bottleneck adapters add a non-linear path and cannot be merged/);
      const plain = reloaded.unload();
      assert.ok(![...plain.namedParameters()].some(([n]) => /adapter_|base_layer/.test(n)));
      assertCloseRel("unloaded", noGrad(() => plain.forward(inputs).logits), baseLogits, 1e-7);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test("bottleneck adapter on one layer: y + up(act(down(y))), hand-computed", () => {
  const proj = new Linear(2, 2).requiresGrad(false);
  proj.weight.copy_(tensor([[1, 2], [0, -1]]));
  proj.bias!.copy_(tensor([0.5, 0]));
  const layer = new BottleneckAdapterLayer(proj);
  layer.addAdapter("default", { size: 1, nonLinearity: "relu", dropout: 0, initScale: 0.01 });
  layer.activeAdapter = "default";
  layer.adapterDown.get("default")!.weight.copy_(tensor([[1, -1]]));
  layer.adapterDown.get("default")!.bias!.copy_(tensor([0.25]));
  layer.adapterUp.get("default")!.weight.copy_(tensor([[2], [-4]]));
  layer.adapterUp.get("default")!.bias!.copy_(tensor([0, 1]));
  // x = [1, 1]: y = [3.5, -1]; down = 3.5 + 1 + 0.25 = 4.75; relu keeps it; up = [9.5, -19 + 1].
  // x = [-2, 0]: y = [-1.5, 0]; down = -1.25; relu -> 0; up = bias [0, 1].
  const out = layer.forward(tensor([[1, 1], [-2, 0]]));
  assert.deepEqual(Array.from(out.data), [3.5 + 9.5, -1 - 18, -1.5, 1]);
});

test("AdapterConfig: target layers, reduction factor, file round trip, validation", async () => {
  const ffn = getPeftModel(await loadBase("bert"), config("bert", { targetLayers: "ffn", reductionFactor: 8 }));
  const layers = [...ffn.adapterLayers()] as [string, BottleneckAdapterLayer][];
  assert.deepEqual(layers.map(([n]) => n), ["bert.encoder.layer.0.output.dense", "bert.encoder.layer.1.output.dense"]);
  assert.deepEqual(layers[0][1].adapterDown.get("default")!.weight.shape, [HIDDEN / 8, HIDDEN]);
  const attention = getPeftModel(await loadBase("gpt2"), config("gpt2", { targetLayers: "attention", nonLinearity: "gelu" }));
  assert.deepEqual([...attention.adapterLayers()].map(([n]) => n), ["transformer.h.0.attn.c_proj", "transformer.h.1.attn.c_proj"]);

  const json = (ffn.activeConfig as AdapterConfig).toJSON();
  assert.equal(json.reduction_factor, 8);
  const again = peftConfigFromJson(JSON.parse(JSON.stringify(json)));
  assert.ok(again instanceof AdapterConfig);
  assert.deepEqual(again.toJSON(), json);

  assert.throws(() => new AdapterConfig({ bottleneckSize: 0 }), /AdapterConfig: config field "bottleneck_size" must be at least 1, got 0/);
  assert.throws(() => new AdapterConfig({ nonLinearity: "swish" as never }), /config field "non_linearity" is "swish", which is not supported \(supported: relu, gelu, tanh\)/);
  assert.throws(() => new AdapterConfig({ targetLayers: "all" as never }), /config field "target_layers" is "all", which is not supported \(supported: attention, ffn, both\)/);
  assert.throws(() => new AdapterConfig({ adapterDropout: 1 }), /config field "adapter_dropout" must be below 1, got 1/);
});
