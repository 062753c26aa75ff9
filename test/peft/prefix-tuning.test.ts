import { test } from "node:test";
import assert from "node:assert/strict";
import { AutoModelForCausalLM } from "../../src/models/index.js";
import { PeftModel, PrefixTuningConfig, getPeftModel, peftConfigFromJson } from "../../src/peft/index.js";
import { assertCloseRel, fixtureDir, loadInputs, loadJson, loadTensors } from "../helpers/fixtures.js";

const load = (model: string) => AutoModelForCausalLM.fromPretrained(fixtureDir(model));

test("init_weights zero: the prefix starts at zero, with or without projection", async () => {
  for (const prefixProjection of [false, true]) {
    const config = new PrefixTuningConfig({ taskType: "CAUSAL_LM", numVirtualTokens: 2, prefixProjection, initWeights: "zero" });
    const table = getPeftModel(await load("gpt2"), config).adapterStateDict().get("prompt_embeddings")!;
    assert.deepEqual(table.shape, [2, 2 * 2 * 32]);
    assert.ok(table.data.every((v) => v === 0));
  }
  assert.throws(() => new PrefixTuningConfig({ initWeights: "ones" as never }), /config field "init_weights" is "ones", which is not supported \(supported: zero\)/);
});

test("a prefix made for another model's key/value shape is refused", async () => {
  const llamaConfig = peftConfigFromJson(loadJson("llama", "prefix-tuning", "adapter_config.json"));
  await assert.rejects(async () => getPeftModel(await load("gpt2"), llamaConfig),
    /num_attention_heads 2 and token_dim 16 do not fit gpt2, which has 2 layers of 4 key\/value heads of size 8/);
});

test("a saved prefix table continues training; a saved projection output does not", async () => {
  const dir = fixtureDir("llama", "prefix-tuning");
  const peft = await PeftModel.fromPretrained(await load("llama"), dir, { isTrainable: true });
  peft.eval();
  assert.equal(peft.getNbTrainableParameters().trainable, 5 * 64);
  assertCloseRel("logits", peft.forward(loadInputs("llama")).logits, loadTensors("llama", "prefix-tuning", "expected.safetensors").get("logits")!);
  await assert.rejects(PeftModel.fromPretrained(await load("llama"), fixtureDir("llama", "prefix-tuning-projection"), { isTrainable: true }),
    /prefix tuning: the saved prompt_embeddings are the projection's output/);
});
