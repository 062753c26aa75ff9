import { test } from "node:test";
import assert from "node:assert/strict";
import { AutoModelForCausalLM } from "../../src/models/index.js";
import { PeftModel, PromptEncoderConfig, getPeftModel } from "../../src/peft/index.js";
import { fixtureDir, loadInputs } from "../helpers/fixtures.js";

const llama = () => AutoModelForCausalLM.fromPretrained(fixtureDir("llama"));
const shapes = (peft: PeftModel) => Object.fromEntries([...peft.namedParameters()]
  .filter(([n]) => n.startsWith("prompt_encoder.")).map(([n, p]) => [n.slice("prompt_encoder.default.".length), p.shape]));

test("LSTM reparameterization: PEFT's lstm_head and mlp_head, trained end to end", async () => {
  const config = new PromptEncoderConfig({ taskType: "CAUSAL_LM", numVirtualTokens: 3, encoderReparameterizationType: "LSTM", encoderHiddenSize: 6 });
  const peft = getPeftModel(await llama(), config).eval();
  const lstm = (sfx: string) => ({ [`weight_ih_l${sfx}`]: [24, sfx.startsWith("0") ? 32 : 12], [`weight_hh_l${sfx}`]: [24, 6], [`bias_ih_l${sfx}`]: [24], [`bias_hh_l${sfx}`]: [24] });
  const expected = Object.fromEntries(Object.entries({
    "embedding.weight": [3, 32],
    ...Object.fromEntries(["0", "0_reverse", "1", "1_reverse"].flatMap((s) => Object.entries(lstm(s)).map(([k, v]) => [`lstm_head.${k}`, v]))),
    "mlp_head.0.weight": [12, 12], "mlp_head.0.bias": [12], "mlp_head.2.weight": [32, 12], "mlp_head.2.bias": [32],
  }).sort());
  assert.deepEqual(Object.fromEntries(Object.entries(shapes(peft)).sort()), expected);
  const out = peft.forward(loadInputs("llama"));
  assert.deepEqual(out.logits.shape.slice(0, 2), [3, 3 + loadInputs("llama").inputIds[0].length]);
  out.loss!.backward();
  for (const [n, p] of peft.namedParameters()) if (p.requiresGrad) assert.ok(p.grad && p.grad.data.some((v) => v !== 0), `${n} gets a gradient`);
});

test("P-tuning for inference is the output table alone; a trainable MLP cannot be rebuilt from it", async () => {
  const dir = fixtureDir("llama", "p-tuning");
  const loaded = await PeftModel.fromPretrained(await llama(), dir);
  assert.deepEqual(shapes(loaded), { "embedding.weight": [3, 32] });
  await assert.rejects(PeftModel.fromPretrained(await llama(), dir, { isTrainable: true }), /P-tuning: the saved prompt_embeddings are the encoder's output/);
});

test("PromptEncoderConfig validation", () => {
  assert.throws(() => new PromptEncoderConfig({ encoderReparameterizationType: "GRU" as never }), /config field "encoder_reparameterization_type" is "GRU", which is not supported \(supported: MLP, LSTM\)/);
  assert.throws(() => new PromptEncoderConfig({ encoderDropout: 1 }), /config field "encoder_dropout" must be below 1, got 1/);
  assert.throws(() => new PromptEncoderConfig({ encoderHiddenSize: 2.5 }), /config field "encoder_hidden_size" must be an integer, got 2.5/);
  assert.throws(() => new PromptEncoderConfig({ encoderReparameterizationType: "LSTM", encoderDropout: 0.1 }), /not supported yet/);
});
