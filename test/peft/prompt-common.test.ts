// Prompt tuning, P-tuning and prefix tuning against the PEFT fixtures, every model and both backends:
// forward, gradients, one AdamW step, the adapter files we write, and loading PEFT's own files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setBackend } from "../../src/backend/index.js";
import { loadSafetensorsSync } from "../../src/io/safetensors.js";
import { toFloat32 } from "../../src/io/raw-tensor.js";
import { AutoModelForCausalLM, AutoModelForSequenceClassification } from "../../src/models/index.js";
import type { PreTrainedModel } from "../../src/models/pretrained.js";
import { LoraConfig, PeftModel, PrefixTuningConfig, PromptTuningConfig, getPeftModel, peftConfigFromJson } from "../../src/peft/index.js";
import { Tensor } from "../../src/tensor/index.js";
import { assertCloseRel, assertStepMatches, fixtureDir, fixtureTrainable, loadInputs, loadJson, loadTensors } from "../helpers/fixtures.js";

const MODELS = ["distilbert", "bert", "gpt2", "llama"];
const METHODS = ["prompt-tuning", "p-tuning", "prefix-tuning", "prefix-tuning-projection"];
const causal = (model: string) => model === "gpt2" || model === "llama";

function loadBase(model: string): Promise<PreTrainedModel> {
  return (causal(model) ? AutoModelForCausalLM : AutoModelForSequenceClassification).fromPretrained(fixtureDir(model));
}

async function freshPeft(model: string, method: string): Promise<PeftModel> {
  const config = peftConfigFromJson(loadJson(model, method, "adapter_config.json"));
  config.inferenceMode = false;
  const peft = getPeftModel(await loadBase(model), config);
  const initial = loadTensors(model, method, "trainable_params.safetensors");
  for (const [name, p] of peft.namedParameters()) if (p.requiresGrad) p.copy_(initial.get(name)!);
  return peft.eval();
}

async function assertSavedLikePeft(peft: PeftModel, model: string, method: string): Promise<void> {
  const out = await mkdtemp(join(tmpdir(), "finetune-prompt-"));
  try {
    await peft.savePretrained(out);
    const ours = loadSafetensorsSync(join(out, "adapter_model.safetensors")).tensors;
    const theirs = loadSafetensorsSync(fixtureDir(model, method, "adapter_model.safetensors")).tensors;
    assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort());
    for (const [k, t] of theirs) {
      const o = ours.get(k)!;
      assert.equal(o.dtype, t.dtype, k);
      assertCloseRel(`saved ${k}`, new Tensor(toFloat32(o), o.shape), new Tensor(toFloat32(t), t.shape), 1e-6);
    }
    const ourConfig = JSON.parse(await readFile(join(out, "adapter_config.json"), "utf8"));
    assert.deepEqual(ourConfig, loadJson(model, method, "adapter_config.json"));
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

for (const backendName of ["typescript", "native"] as const) {
  for (const model of MODELS) {
    for (const method of METHODS) {
      test(`${model} ${method} matches PEFT (${backendName})`, async () => {
        setBackend(backendName);
        const peft = await freshPeft(model, method);
        const trainable = fixtureTrainable(model, method, peft);
        await assertSavedLikePeft(peft, model, method);
        assertStepMatches(model, method, peft.forward(loadInputs(model)), trainable);
      });

      test(`${model} ${method}: PEFT's adapter files reproduce its logits (${backendName})`, async () => {
        setBackend(backendName);
        const peft = await PeftModel.fromPretrained(await loadBase(model), fixtureDir(model, method));
        peft.eval();
        const expected = loadTensors(model, method, "expected.safetensors");
        assertCloseRel("logits", peft.forward(loadInputs(model)).logits, expected.get("logits")!);
        assert.equal(peft.getNbTrainableParameters().trainable, 0, "loaded for inference");
      });
    }
  }
}

// Only the method's own choices are given; every size PEFT derives comes from the model.
const CHOSEN = ["task_type", "num_virtual_tokens", "prefix_projection", "base_model_name_or_path"];
const CHOSEN_WITH_WIDTH = [...CHOSEN, "encoder_hidden_size"];

for (const model of MODELS) {
  for (const method of METHODS) {
    test(`${model} ${method}: a config with PEFT's defaults, completed from the model, is the fixture's`, async () => {
      const theirs = loadJson(model, method, "adapter_config.json");
      // Prefix tuning without projection leaves encoder_hidden_size to its default (token_dim).
      const keys = method === "prefix-tuning" || method === "prompt-tuning" ? CHOSEN : CHOSEN_WITH_WIDTH;
      const chosen = Object.fromEntries(Object.entries(theirs).filter(([k]) => keys.includes(k)));
      const config = peftConfigFromJson({ ...chosen, peft_type: theirs.peft_type });
      getPeftModel(await loadBase(model), config);
      assert.deepEqual({ ...config.toJSON(), inference_mode: true }, theirs);
    });
  }
}

test("several prompt adapters: setAdapter switches prompts and trainable set; disableAdapter is the base model", async () => {
  const inputs = loadInputs("gpt2");
  const base = await loadBase("gpt2");
  base.eval();
  const plain = base.forward(inputs).logits;
  const peft = getPeftModel(base, new PromptTuningConfig({ taskType: "CAUSAL_LM", numVirtualTokens: 2 }));
  peft.addAdapter("prefix", new PrefixTuningConfig({ taskType: "CAUSAL_LM", numVirtualTokens: 3 }));
  peft.eval();
  assert.deepEqual(peft.forward(inputs).logits.shape, plain.shape, "prefix tuning keeps the sequence length");
  assert.ok([...peft.namedParameters()].filter(([, p]) => p.requiresGrad).every(([n]) => n.startsWith("prompt_encoder.prefix.")));
  peft.setAdapter("default");
  assert.deepEqual(peft.forward(inputs).logits.shape, [3, 2 + plain.shape[1], plain.shape[2]]);
  assert.deepEqual([...peft.namedParameters()].filter(([, p]) => p.requiresGrad).map(([n]) => n), ["prompt_encoder.default.embedding.weight"]);
  assertCloseRel("disabled", peft.disableAdapter(() => peft.forward(inputs).logits), plain, 1e-7);
  assert.throws(() => peft.addAdapter("lora", new LoraConfig({ taskType: "CAUSAL_LM" })), /cannot mix LORA/);
});
