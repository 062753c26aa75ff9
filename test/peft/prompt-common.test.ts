// Prompt tuning, P-tuning and prefix tuning against the PEFT fixtures, every model and both backends:
// forward, gradients, one AdamW step, the adapter files we write, and loading PEFT's own files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LoraConfig, PrefixTuningConfig, PromptTuningConfig, getPeftModel, peftConfigFromJson } from "../../src/peft/index.js";
import { assertCloseRel, loadInputs, loadJson } from "../helpers/fixtures.js";
import { loadFixtureModel as loadBase, promptFixtureTests } from "./method-cases.js";

const MODELS = ["distilbert", "bert", "gpt2", "llama", "roberta"];
const METHODS = ["prompt-tuning", "p-tuning", "prefix-tuning", "prefix-tuning-projection"];

for (const model of MODELS) for (const method of METHODS) promptFixtureTests(model, method);

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
