// Checklist item 5: adapter configs that name modules the model lacks, prompt/prefix configs for another model's
// shape, and adapter weights with missing, unexpected or wrong-shape tensors. Each fails with one Error naming the
// file at fault (adapter_config.json or adapter_model.safetensors) and what is wrong. Regular expressions in
// target_modules come from the file too: a catastrophic one must not hang the loader.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadSafetensors, saveSafetensors } from "../../src/io/safetensors.js";
import type { RawTensor } from "../../src/io/raw-tensor.js";
import { AutoModelForSequenceClassification } from "../../src/models/index.js";
import type { PreTrainedModel } from "../../src/models/pretrained.js";
import { getPeftModel, loadPeftModel, AdapterConfig } from "../../src/peft/index.js";
import { FIXTURES, ROOT, assertNamesFile, rejection, tempDir } from "./helpers/common.js";

let dir = "";
let cleanup = async () => {};
let base: PreTrainedModel;
before(async () => {
  ({ dir, cleanup } = await tempDir("adapters"));
  base = await AutoModelForSequenceClassification.fromPretrained(join(FIXTURES, "distilbert"));
});
after(() => cleanup());

const fixture = (method: string, file: string) => join(FIXTURES, "distilbert", method, file);
let n = 0;

/** An adapter folder: the fixture's config with `edit` applied, and its weights (or `weights`). */
async function adapterFolder(method: string, edit: Record<string, unknown>, weights?: Map<string, RawTensor>): Promise<string> {
  const folder = join(dir, `${method}-${++n}`);
  await mkdir(folder);
  const config = { ...JSON.parse(await readFile(fixture(method, "adapter_config.json"), "utf8")), ...edit };
  await writeFile(join(folder, "adapter_config.json"), JSON.stringify(config));
  const w = weights ?? (await loadSafetensors(fixture(method, "adapter_model.safetensors"))).tensors;
  await saveSafetensors(join(folder, "adapter_model.safetensors"), w);
  return folder;
}

async function refused(folder: string, file: "adapter_config.json" | "adapter_model.safetensors", pattern: RegExp): Promise<void> {
  const err = await rejection(loadPeftModel(base.clone(), folder));
  assertNamesFile(err, join(folder, file), pattern);
}

test("LoRA and IA3 target modules the model lacks: the config file, the names looked for and the layers it has", async () => {
  await refused(await adapterFolder("lora", { target_modules: ["q_proj", "v_proj"] }), "adapter_config.json",
    /LoraConfig: target modules \["q_proj","v_proj"\] not found in the base model \(distilbert\)\. Linear layers it has: q_lin, k_lin, v_lin, out_lin, lin1, lin2/);
  await refused(await adapterFolder("lora", { target_modules: "model\\.layers\\.\\d+\\.q_proj" }), "adapter_config.json", /target modules .* not found/);
  await refused(await adapterFolder("lora", { target_modules: 7 }), "adapter_config.json", /config field "target_modules" must be a list of strings or a string, got 7/);
  await refused(await adapterFolder("lora", { target_modules: "([a-z" }), "adapter_config.json", /config field "target_modules" is not usable: "\(\[a-z" is not a valid regular expression/);
  await refused(await adapterFolder("lora", { layers_to_transform: [0, "x"] }), "adapter_config.json", /config field "layers_to_transform" item 1 must be a number, got "x"/);
  await refused(await adapterFolder("lora", { r: 1e9 }), "adapter_config.json", /config field "r" must be at most 65536, got 1000000000 \(an absurd size/);
  const ia3 = { peft_type: "IA3", target_modules: ["k_proj"], feedforward_modules: ["k_proj"], r: undefined };
  await refused(await adapterFolder("lora", ia3), "adapter_config.json", /IA3Config: target modules \["k_proj"\] not found in the base model/);
  await refused(await adapterFolder("lora", { ...ia3, target_modules: ["lin1"], feedforward_modules: ["lin2"] }), "adapter_config.json",
    /feedforward_modules should be a subset of target_modules; not targeted: lin2/);
});

test("bottleneck adapters with an unknown placement, and a model of an unregistered type", async () => {
  await refused(await adapterFolder("lora", { peft_type: "BOTTLENECK_ADAPTER", target_layers: "everywhere" }), "adapter_config.json",
    /config field "target_layers" is "everywhere", which is not supported \(supported: attention, ffn, both\)/);
  const stranger = base.clone();
  (stranger.config as { modelType: string }).modelType = "t5";
  assert.throws(() => getPeftModel(stranger, new AdapterConfig({})), /model_type is "t5", which is not supported \(supported: .*\bdistilbert\b.*\)/);
});

test("prefix and prompt configs for another model shape: num_layers, token_dim", async () => {
  await refused(await adapterFolder("prefix-tuning", { num_layers: 7 }), "adapter_config.json",
    /PrefixTuningConfig: num_layers 7, num_attention_heads 4 and token_dim 32 do not fit distilbert, which has 2 layers of 4 key\/value heads of size 8/);
  await refused(await adapterFolder("prompt-tuning", { token_dim: 48 }), "adapter_config.json", /token_dim 48 differs from the hidden size 32 of distilbert/);
  await refused(await adapterFolder("prompt-tuning", { num_virtual_tokens: 10_000_000 }), "adapter_config.json", /config field "num_virtual_tokens" must be at most 65536, got 10000000 \(an absurd size/);
  await refused(await adapterFolder("prompt-tuning", { num_virtual_tokens: "5" }), "adapter_config.json", /config field "num_virtual_tokens" must be a number, got "5"/);
  await refused(await adapterFolder("lora", { peft_type: "EVIL" }), "adapter_config.json", /unsupported peft_type "EVIL"/);
});

test("adapter weights with missing, unexpected or wrong-shape tensors name the file and the keys", async () => {
  const weights = (await loadSafetensors(fixture("lora", "adapter_model.safetensors"))).tensors;
  const key = "base_model.model.distilbert.transformer.layer.0.attention.q_lin.lora_A.weight";
  const missing = new Map(weights);
  missing.delete(key);
  await refused(await adapterFolder("lora", {}, missing), "adapter_model.safetensors", new RegExp(`missing keys \\[${key.replaceAll(".", "\\.")}\\], unexpected keys \\[\\]`));
  const extra = new Map(weights).set("base_model.model.evil.weight", { dtype: "F32", shape: [1], data: new Float32Array(1) });
  await refused(await adapterFolder("lora", {}, extra), "adapter_model.safetensors", /unexpected keys \[base_model\.model\.evil\.weight\]/);
  const reshaped = new Map(weights).set(key, { dtype: "F32", shape: [8, 16], data: new Float32Array(128) });
  await refused(await adapterFolder("lora", {}, reshaped), "adapter_model.safetensors", /lora_A\.weight has shape \[8,16\], the model expects \[4,32\]/);
  // r in the config disagrees with the saved rank: the weights do not fit the adapter the config describes.
  await refused(await adapterFolder("lora", { r: 8 }), "adapter_model.safetensors", /has shape \[4,32\], the model expects \[8,32\]/);
});

test("a catastrophic regular expression in target_modules neither hangs nor runs away", () => {
  const child = fileURLToPath(new URL("./helpers/load-adapter-child.ts", import.meta.url));
  return (async () => {
    for (const pattern of ["(.*)*x", "(\\w+\\.?)+x", "(?=d)(\\w+\\.?)+x"]) {
      const folder = await adapterFolder("lora", { target_modules: pattern });
      const r = spawnSync(process.execPath, ["--import", "tsx", child, folder], { cwd: ROOT, timeout: 60_000, encoding: "utf8" });
      assert.equal(r.signal, null, `loading target_modules ${pattern} was killed after 60 s: it hung`);
      const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { error?: string; isError?: boolean; ms: number };
      assert.ok(out.isError, `expected a refusal for ${pattern}: ${r.stdout} ${r.stderr}`);
      assert.ok(out.error!.includes(join(folder, "adapter_config.json")), out.error);
      assert.match(out.error!, /not found in the base model|can take exponential time/);
      assert.ok(out.ms < 5000, `took ${out.ms} ms`);
    }
  })();
});
