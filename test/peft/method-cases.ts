// The PEFT fixture checks of one method folder, shared by the committed fixtures' tests and the test of a freshly
// generated fixture: training from the committed initial values (forward, gradients, one AdamW step, on both
// backends), PEFT's adapter files loading to the same logits, and what we save being what PEFT saves.
// `fixture`: a folder name under test/fixtures/hf, or a fixture folder's path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { setBackend } from "../../src/backend/index.js";
import { loadSafetensorsSync } from "../../src/io/safetensors.js";
import { toFloat32 } from "../../src/io/raw-tensor.js";
import { AutoModelForCausalLM, AutoModelForSequenceClassification } from "../../src/models/index.js";
import type { PreTrainedModel } from "../../src/models/pretrained.js";
import { PeftModel, getPeftModel, peftConfigFromJson } from "../../src/peft/index.js";
import { Tensor } from "../../src/tensor/index.js";
import { assertCloseRel, assertStepMatches, fixtureDir, fixtureTrainable, loadInputs, loadJson, loadTensors } from "../helpers/fixtures.js";

const BACKENDS = ["typescript", "native"] as const;

/** The fixture's model with the head its methods were computed with (config.json's architectures). */
export function loadFixtureModel(fixture: string): Promise<PreTrainedModel> {
  const [arch] = loadJson(fixture, "config.json").architectures as string[];
  const causal = /(ForCausalLM|LMHeadModel)$/.test(arch);
  return (causal ? AutoModelForCausalLM : AutoModelForSequenceClassification).fromPretrained(fixtureDir(fixture));
}

/** The method's PEFT model, trainable, at the fixture's initial values. */
export async function freshPeft(fixture: string, method: string): Promise<PeftModel> {
  const config = peftConfigFromJson(loadJson(fixture, method, "adapter_config.json"));
  config.inferenceMode = false;
  const peft = getPeftModel(await loadFixtureModel(fixture), config);
  const initial = loadTensors(fixture, method, "trainable_params.safetensors");
  for (const [name, p] of peft.namedParameters()) if (p.requiresGrad) p.copy_(initial.get(name)!);
  return peft.eval();
}

/** Saves `peft` and compares with the fixture's PEFT files: the same tensors (`bitIdentical`, or within 1e-6), and
 *  (`sameConfig`) the same config, else only keys PEFT writes too, with its values. */
async function assertSavedLikePeft(peft: PeftModel, fixture: string, method: string, { bitIdentical = false, sameConfig = false }): Promise<void> {
  const out = await mkdtemp(join(tmpdir(), "finetune-peft-"));
  try {
    await peft.savePretrained(out);
    const ours = loadSafetensorsSync(join(out, "adapter_model.safetensors")).tensors;
    const theirs = loadSafetensorsSync(fixtureDir(fixture, method, "adapter_model.safetensors")).tensors;
    assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort());
    for (const [k, t] of theirs) {
      const o = ours.get(k)!;
      assert.equal(o.dtype, t.dtype, k);
      if (bitIdentical) assert.deepEqual(o.data, t.data, k);
      assertCloseRel(`saved ${k}`, new Tensor(toFloat32(o), o.shape), new Tensor(toFloat32(t), t.shape), 1e-6);
    }
    const ourConfig = JSON.parse(await readFile(join(out, "adapter_config.json"), "utf8"));
    const theirConfig = loadJson(fixture, method, "adapter_config.json");
    if (sameConfig) assert.deepEqual(ourConfig, theirConfig);
    for (const [k, v] of Object.entries(ourConfig)) {
      assert.ok(k in theirConfig, `we write "${k}", which PEFT does not`);
      if (k !== "base_model_name_or_path") assert.deepEqual(v, theirConfig[k], k);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** PEFT's own files, loaded for inference, give the fixture's logits. */
async function loadedPeft(fixture: string, method: string): Promise<PeftModel> {
  const peft = await PeftModel.fromPretrained(await loadFixtureModel(fixture), fixtureDir(fixture, method));
  peft.eval();
  assertCloseRel("logits from PEFT's files", peft.forward(loadInputs(fixture)).logits, loadTensors(fixture, method, "expected.safetensors").get("logits")!);
  assert.equal(peft.getNbTrainableParameters().trainable, 0, "loaded for inference");
  return peft;
}

export function loraFixtureTests(fixture: string, method: string): void {
  const label = `${basename(fixture)} ${method}`;
  for (const backend of BACKENDS) {
    test(`${label} matches PEFT (${backend})`, async () => {
      setBackend(backend);
      const peft = await freshPeft(fixture, method);
      assertStepMatches(fixture, method, peft.forward(loadInputs(fixture)), fixtureTrainable(fixture, method, peft));
    });
  }

  test(`${label}: PEFT's adapter files load, save back identically, and merge`, async () => {
    const peft = await loadedPeft(fixture, method);
    await assertSavedLikePeft(peft, fixture, method, { bitIdentical: true });
    const expected = loadTensors(fixture, method, "expected.safetensors");
    const merged = peft.mergeAndUnload();
    for (const [k, t] of expected) if (k.startsWith("merged.")) assertCloseRel(k, merged.stateDict().get(k.slice("merged.".length))!, t);
    assertCloseRel("logits after merge", merged.forward(loadInputs(fixture)).logits, expected.get("logits")!);
    assert.ok(![...merged.namedParameters()].some(([n]) => n.includes("lora_") || n.includes("base_layer") || n.includes("modules_to_save")));
  });
}

export function promptFixtureTests(fixture: string, method: string): void {
  const label = `${basename(fixture)} ${method}`;
  for (const backend of BACKENDS) {
    test(`${label} matches PEFT (${backend})`, async () => {
      setBackend(backend);
      const peft = await freshPeft(fixture, method);
      const trainable = fixtureTrainable(fixture, method, peft);
      await assertSavedLikePeft(peft, fixture, method, { sameConfig: true });
      assertStepMatches(fixture, method, peft.forward(loadInputs(fixture)), trainable);
    });

    test(`${label}: PEFT's adapter files reproduce its logits (${backend})`, async () => {
      setBackend(backend);
      await loadedPeft(fixture, method);
    });
  }
}

/** The tests of every PEFT method folder of a fixture (lora*, *tuning). */
export function peftFixtureTests(fixture: string): void {
  const dir = fixtureDir(fixture);
  for (const method of readdirSync(dir).filter((d) => statSync(join(dir, d)).isDirectory())) {
    if (method.startsWith("lora")) loraFixtureTests(fixture, method);
    else if (method.includes("tuning")) promptFixtureTests(fixture, method);
  }
}
