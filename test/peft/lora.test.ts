import { test } from "node:test";
import assert from "node:assert/strict";
import { LoraConfig, getPeftModel } from "../../src/peft/index.js";
import { assertCloseRel, loadInputs } from "../helpers/fixtures.js";
import { loadFixtureModel as loadBase, loraFixtureTests } from "./method-cases.js";

for (const [model, method] of [["distilbert", "lora"], ["bert", "lora"], ["gpt2", "lora"], ["llama", "lora"], ["llama", "lora-rslora"], ["roberta", "lora"], ["roberta", "lora-rslora"]]) {
  loraFixtureTests(model, method);
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
