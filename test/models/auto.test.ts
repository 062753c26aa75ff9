import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification } from "../../src/models/auto.js";
import { supportedModelTypes } from "../../src/models/registry.js";
import { BertForSequenceClassification, BertModel } from "../../src/models/bert/index.js";
import { DistilBertForSequenceClassification, DistilBertModel } from "../../src/models/distilbert/index.js";
import { assertCloseRel, fixtureDir, loadInputs, loadTensors } from "../helpers/fixtures.js";
import { startHubServer, type HubServer } from "../helpers/hub-server.js";
import { tempDir } from "../io/fixtures.js";

let dir = "";
let cleanup = async () => {};
let hub: HubServer;
before(async () => {
  ({ dir, cleanup } = await tempDir("models-auto"));
  hub = await startHubServer({ "test-org/tiny-bert": fixtureDir("bert") });
});
after(async () => {
  await hub.close();
  await cleanup();
});

async function withConfig(name: string, edit: (c: Record<string, unknown>) => void): Promise<string> {
  const c = JSON.parse(await readFile(fixtureDir("distilbert", "config.json"), "utf8"));
  edit(c);
  const out = join(dir, name);
  await mkdir(out);
  await writeFile(join(out, "config.json"), JSON.stringify(c));
  return out;
}

test("model_type picks the family; the Auto class picks the head", async () => {
  assert.ok(supportedModelTypes().includes("bert") && supportedModelTypes().includes("distilbert"));
  const config = await AutoConfig.fromPretrained(fixtureDir("distilbert"));
  assert.equal(config.modelType, "distilbert");
  assert.ok(await AutoModel.fromPretrained(fixtureDir("distilbert"), { onWarning: () => {} }) instanceof DistilBertModel);
  assert.ok(await AutoModel.fromPretrained(fixtureDir("bert"), { onWarning: () => {} }) instanceof BertModel);
  const cls = await AutoModelForSequenceClassification.fromPretrained(fixtureDir("distilbert"));
  assert.ok(cls instanceof DistilBertForSequenceClassification);
  assertCloseRel("logits", cls.forward(loadInputs("distilbert")).logits, loadTensors("distilbert", "expected.safetensors").get("logits")!);
});

test("unsupported model types and heads are clear errors", async () => {
  await assert.rejects(AutoConfig.fromPretrained(await withConfig("t5", (c) => { c.model_type = "t5"; })),
    /config\.json: config field "model_type" is "t5", which is not supported \(supported: .*bert.*distilbert/);
  await assert.rejects(AutoModel.fromPretrained(await withConfig("untyped", (c) => { delete c.model_type; })),
    /config field "model_type" is missing; the Auto classes need it/);
  await assert.rejects(AutoModelForCausalLM.fromPretrained(fixtureDir("distilbert")),
    /model_type "distilbert" has no causal LM model here \(available: base model, sequence classification[^)]*\)/);
});

test("a hub repo id resolves through the cache", async () => {
  const cacheDir = join(dir, "hub-cache");
  const m = await AutoModelForSequenceClassification.fromPretrained("test-org/tiny-bert", { endpoint: hub.url, cacheDir, token: false });
  assert.ok(m instanceof BertForSequenceClassification);
  assertCloseRel("logits", m.forward(loadInputs("bert")).logits, loadTensors("bert", "expected.safetensors").get("logits")!);
  const again = await BertForSequenceClassification.fromPretrained("test-org/tiny-bert", { cacheDir, offline: true });
  assert.deepEqual(again.classifier.weight.data, m.classifier.weight.data);
});
