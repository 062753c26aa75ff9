// Hub ids instead of folders: the model, its tokenizer and a classification dataset come from a local
// stand-in for the Hugging Face Hub (HF_ENDPOINT), through a fresh cache; the adapter records the hub id
// of its base model, so predict finds it again from the cache.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startHubServer, type HubServer } from "../helpers/hub-server.js";
import { UCI, cli, removeTempDirs, tempDir, tinyDistilBertDir } from "./tiny-models.js";

let hub: HubServer, env: Record<string, string>, dir: string;

before(async () => {
  dir = await tempDir("finetune-hub-");
  const dataset = await tempDir("hub-dataset-");
  const lines = (await readFile(join(UCI, "train.jsonl"), "utf8")).split("\n").filter(Boolean);
  await writeFile(join(dataset, "train.jsonl"), `${lines.slice(0, 64).join("\n")}\n`);
  await writeFile(join(dataset, "test.jsonl"), `${lines.slice(64, 96).join("\n")}\n`);
  hub = await startHubServer({ "test-org/tiny-distilbert": await tinyDistilBertDir() }, { "test-org/uci-sentiment": dataset });
  env = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(dir, "cache"), HF_TOKEN: "" };
});

after(async () => {
  await hub.close();
  await removeTempDirs();
});

test("train and compare take hub ids for the model and the dataset (--dataset), carving a validation split", async () => {
  const out = join(dir, "lora");
  const trained = await cli(["train", "--model", "test-org/tiny-distilbert", "--method", "lora", "--dataset", "test-org/uci-sentiment",
    "--validation-split", "16", "--max-steps", "2", "--max-length", "32", "--output", out], "", env);
  assert.equal(trained.code, 0, trained.stderr);
  assert.match(trained.stderr, /^data: 48 train \/ 16 validation \/ 32 test rows; labels 0, 1$/m);
  const adapterConfig = JSON.parse(await readFile(join(out, "adapter_config.json"), "utf8"));
  assert.equal(adapterConfig.base_model_name_or_path, "test-org/tiny-distilbert");

  const predicted = await cli(["predict", "--model", out, "--json", "what a lovely phone"], "", env);
  assert.equal(predicted.code, 0, predicted.stderr);
  assert.ok(["LABEL_0", "LABEL_1"].includes(JSON.parse(predicted.stdout).label));

  const compared = await cli(["compare", "--model", "test-org/tiny-distilbert", "--dataset", "test-org/uci-sentiment", "--methods", "head,prompt",
    "--max-steps", "2", "--max-length", "32", "--output", join(dir, "report")], "", env);
  assert.equal(compared.code, 0, compared.stderr);
  const report = JSON.parse(await readFile(join(dir, "report", "report.json"), "utf8"));
  assert.deepEqual(report.methods.map((m: { method: string }) => m.method), ["head", "prompt"]);
  assert.equal(report.model, "test-org/tiny-distilbert");
});

test("pretrain --model takes a hub id: weights and tokenizer come through the cache, the output is a model folder", async () => {
  const text = join(dir, "domain.txt");
  await writeFile(text, `${(await readFile(join(UCI, "train.jsonl"), "utf8")).split("\n").filter(Boolean).map((l) => JSON.parse(l).text).join("\n")}\n`);
  const out = join(dir, "further");
  const r = await cli(["pretrain", text, "--model", "test-org/tiny-distilbert", "--max-steps", "2", "--max-length", "32", "--batch-size", "4",
    "--val-every", "2", "--output", out], "", env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^pretrained test-org\/tiny-distilbert \(.* parameters\) for 2 steps/m);
  assert.match(r.stdout, /held-out masked-LM loss \d/);
  assert.equal(JSON.parse(await readFile(join(out, "config.json"), "utf8")).architectures[0], "DistilBertForMaskedLM");
  assert.ok((await readFile(join(out, "tokenizer.json"), "utf8")).includes('"[MASK]"'));
});
