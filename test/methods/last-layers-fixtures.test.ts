// trainLastLayers against the fixtures' last-layers method: the same trainable tensors and gradients as
// the PyTorch reference, and a step that leaves everything else untouched. (The AdamW update itself,
// with its noise-decided entries, is checked by test/models.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { trainLastLayers } from "../../src/methods/freeze.js";
import { countParameters, trainableParameters } from "../../src/methods/trainable.js";
import { AutoModelForCausalLM, AutoModelForSequenceClassification } from "../../src/models/index.js";
import { AdamW } from "../../src/optim/index.js";
import { assertGradClose, fixtureDir, loadInputs, loadJson, loadTensors } from "../helpers/fixtures.js";

const CASES = [
  { model: "distilbert", n: 0, auto: AutoModelForSequenceClassification },
  { model: "bert", n: 0, auto: AutoModelForSequenceClassification },
  { model: "gpt2", n: 1, auto: AutoModelForCausalLM },
  { model: "llama", n: 1, auto: AutoModelForCausalLM },
];

for (const { model: name, n, auto } of CASES) {
  test(`${name}: trainLastLayers(model, ${n}) trains exactly the fixture's tensors, with its gradients`, async () => {
    const model = await auto.fromPretrained(fixtureDir(name));
    const method = loadJson(name, "last-layers", "method.json") as { trainable_parameters: Record<string, number[]> };
    const names = trainLastLayers(model, n);
    assert.deepEqual([...names].sort(), Object.keys(method.trainable_parameters).sort());
    const params = new Map(trainableParameters(model));
    for (const [k, shape] of Object.entries(method.trainable_parameters)) assert.deepEqual(params.get(k)!.shape, shape, k);
    assert.equal(countParameters(model).trainable, Object.values(method.trainable_parameters).reduce((s, sh) => s + sh.reduce((a, b) => a * b, 1), 0));

    const frozen = [...model.namedParameters()].filter(([k]) => !params.has(k));
    const before = frozen.map(([, p]) => Float32Array.from(p.data));
    model.eval().forward(loadInputs(name)).loss!.backward();
    assert.deepEqual(frozen.filter(([, p]) => p.grad).map(([k]) => k), [], "frozen tensors received gradients");
    const expected = loadTensors(name, "last-layers", "expected.safetensors");
    for (const [k, p] of params) assertGradClose(k, p.grad, expected.get(`grad.${k}`)!);
    new AdamW([...params.values()], { lr: 1e-3, weightDecay: 0.01 }).step();
    frozen.forEach(([k, p], i) => assert.deepEqual(p.data, before[i], `frozen ${k} changed`));
  });
}

test("GPT-2's tied lm_head cannot train on its own: n = 0 is an error, not an empty optimizer", async () => {
  const model = await AutoModelForCausalLM.fromPretrained(fixtureDir("gpt2"));
  assert.throws(() => trainLastLayers(model, 0), /nothing to train/);
});

test("Llama with n = 0 trains only its untied lm_head; BERT's pooler joins once a block trains", async () => {
  const llama = await AutoModelForCausalLM.fromPretrained(fixtureDir("llama"));
  assert.deepEqual(trainLastLayers(llama, 0), ["lm_head.weight"]);
  const bert = await AutoModelForSequenceClassification.fromPretrained(fixtureDir("bert"));
  const names = trainLastLayers(bert, 1);
  assert.ok(names.includes("bert.pooler.dense.weight") && names.includes("bert.encoder.layer.1.output.dense.weight"));
  assert.ok(!names.some((k) => k.startsWith("bert.encoder.layer.0.") || k.startsWith("bert.embeddings.")));
  assert.equal(trainLastLayers(bert, 2).length, [...bert.namedParameters()].filter(([k]) => !k.startsWith("bert.embeddings.")).length);
});
