import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setBackend } from "../../src/backend/index.js";
import { loadSafetensorsSync } from "../../src/io/safetensors.js";
import { AutoModelForCausalLM, AutoModelForSequenceClassification } from "../../src/models/index.js";
import type { PreTrainedModel } from "../../src/models/pretrained.js";
import { LoraConfig, PeftModel, getPeftModel, peftConfigFromJson } from "../../src/peft/index.js";
import { assertCloseRel, assertStepMatches, fixtureDir, fixtureTrainable, loadInputs, loadJson, loadTensors } from "../helpers/fixtures.js";

const CASES: [string, string][] = [["distilbert", "lora"], ["bert", "lora"], ["gpt2", "lora"], ["llama", "lora"], ["llama", "lora-rslora"]];
const causal = (model: string) => model === "gpt2" || model === "llama";

async function loadBase(model: string): Promise<PreTrainedModel> {
  const auto = causal(model) ? AutoModelForCausalLM : AutoModelForSequenceClassification;
  return auto.fromPretrained(fixtureDir(model));
}

async function freshPeft(model: string, method: string): Promise<PeftModel> {
  const config = peftConfigFromJson(loadJson(model, method, "adapter_config.json"));
  config.inferenceMode = false;
  const peft = getPeftModel(await loadBase(model), config);
  const initial = loadTensors(model, method, "trainable_params.safetensors");
  for (const [name, p] of peft.namedParameters()) if (p.requiresGrad) p.copy_(initial.get(name)!);
  return peft.eval() as PeftModel;
}

for (const backendName of ["typescript", "native"] as const) {
  for (const [model, method] of CASES) {
    test(`${model} ${method} matches PEFT (${backendName})`, async () => {
      setBackend(backendName);
      const peft = await freshPeft(model, method);
      const trainable = fixtureTrainable(model, method, peft);
      assertStepMatches(model, method, peft.forward(loadInputs(model)), trainable);
    });
  }
}

for (const [model, method] of CASES) {
  test(`${model} ${method}: PEFT's adapter files load, save back identically, and merge`, async () => {
    const dir = fixtureDir(model, method);
    const expected = loadTensors(model, method, "expected.safetensors");
    const peft = await PeftModel.fromPretrained(await loadBase(model), dir);
    peft.eval();
    assertCloseRel("logits from PEFT's files", peft.forward(loadInputs(model)).logits, expected.get("logits")!);
    assert.equal(peft.getNbTrainableParameters().trainable, 0, "loaded for inference");

    const out = await mkdtemp(join(tmpdir(), "finetune-lora-"));
    try {
      await peft.savePretrained(out);
      const ours = loadSafetensorsSync(join(out, "adapter_model.safetensors")).tensors;
      const theirs = loadSafetensorsSync(join(dir, "adapter_model.safetensors")).tensors;
      assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort());
      for (const [k, t] of theirs) {
        assert.deepEqual(ours.get(k)!.shape, t.shape, k);
        assert.equal(ours.get(k)!.dtype, t.dtype, k);
        assert.deepEqual(ours.get(k)!.data, t.data, k);
      }
      const ourConfig = JSON.parse(await readFile(join(out, "adapter_config.json"), "utf8"));
      const theirConfig = loadJson(model, method, "adapter_config.json");
      for (const [k, v] of Object.entries(ourConfig)) {
        assert.ok(k in theirConfig, `we write "${k}", which PEFT does not`);
        if (k !== "base_model_name_or_path") assert.deepEqual(v, theirConfig[k], k);
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }

    const merged = peft.mergeAndUnload();
    for (const [k, t] of expected) {
      if (!k.startsWith("merged.")) continue;
      const w = merged.stateDict().get(k.slice("merged.".length))!;
      assertCloseRel(k, w, t);
    }
    assertCloseRel("logits after merge", merged.forward(loadInputs(model)).logits, expected.get("logits")!);
    assert.ok(![...merged.namedParameters()].some(([n]) => n.includes("lora_") || n.includes("base_layer") || n.includes("modules_to_save")));
  });
}

test("LoRA: a fresh adapter leaves outputs unchanged; disableAdapter; unknown targets fail clearly", async () => {
  const base = await loadBase("bert");
  base.eval();
  const inputs = loadInputs("bert");
  const before = base.forward(inputs).logits;
  const peft = getPeftModel(base, new LoraConfig({ taskType: "SEQ_CLS", r: 2, loraAlpha: 4 }));
  peft.eval();
  assertCloseRel("fresh adapter", peft.forward(inputs).logits, before, 1e-7);
  for (const [n, p] of peft.namedParameters()) if (n.includes("lora_B")) p.data.fill(0.1);
  const changed = peft.forward(inputs).logits;
  assert.ok(changed.data.some((v, i) => Math.abs(v - before.data[i]) > 1e-4));
  assertCloseRel("disabled", peft.disableAdapter(() => peft.forward(inputs).logits), before, 1e-7);
  await assert.rejects(async () => getPeftModel(await loadBase("bert"), new LoraConfig({ targetModules: ["q_lin"] })),
    /target modules \["q_lin"\] not found in the base model \(bert\)/);
});

test("LoRA: several named adapters, setAdapter switches output and trainable set", async () => {
  const base = await loadBase("llama");
  const peft = getPeftModel(base, new LoraConfig({ taskType: "CAUSAL_LM", r: 2, initLoraWeights: false }));
  peft.addAdapter("second", new LoraConfig({ taskType: "CAUSAL_LM", r: 3, targetModules: ["k_proj"], initLoraWeights: false }));
  peft.eval();
  const inputs = loadInputs("llama");
  const second = peft.forward(inputs).logits;
  assert.ok([...peft.namedParameters()].filter(([, p]) => p.requiresGrad).every(([n]) => n.includes(".second.")));
  peft.setAdapter("default");
  const first = peft.forward(inputs).logits;
  assert.ok(first.data.some((v, i) => Math.abs(v - second.data[i]) > 1e-5));
  assert.ok([...peft.namedParameters()].filter(([, p]) => p.requiresGrad).every(([n]) => n.includes(".default.")));
});
