// Causal LMs through the command line: a tiny random GPT-2 with the real GPT-2 tokenizer learns from
// Tiny Shakespeare with LoRA; generate continues a prompt through the adapter, and the merged model
// generates exactly what the adapter did.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { access } from "node:fs/promises";
import { join } from "node:path";
import { SHAKESPEARE, cli, removeTempDirs, tempDir, tinyGpt2Dir } from "./tiny-models.js";

after(removeTempDirs);

let model: string, dir: string;
before(async () => {
  [model, dir] = await Promise.all([tinyGpt2Dir(), tempDir()]);
});

const trainArgs = (method: string, out: string) => [
  "train", "--model", model, "--method", method, "--train", join(SHAKESPEARE, "train.jsonl"), "--test", join(SHAKESPEARE, "validation.jsonl"),
  "--max-rows", "8", "--max-steps", "2", "--batch-size", "4", "--max-length", "24", "--num-virtual-tokens", "4", "--output", out,
];

test("lora on a causal LM: generate through the adapter, merge, and the merged model generates the same", async () => {
  const adapter = join(dir, "lora");
  const trained = await cli(trainArgs("lora", adapter));
  assert.equal(trained.code, 0, trained.stderr);
  assert.match(trained.stdout, /^test: loss \d+\.\d+ {2}ppl /m);

  const fromAdapter = await cli(["generate", "--model", adapter, "--max-new-tokens", "6", "--json", "ROMEO:"]);
  assert.equal(fromAdapter.code, 0, fromAdapter.stderr);
  const { prompt, completion } = JSON.parse(fromAdapter.stdout);
  assert.equal(prompt, "ROMEO:");
  assert.ok(completion.length > 0);

  const merged = join(dir, "merged");
  const m = await cli(["merge", "--adapter", adapter, "--output", merged]);
  assert.equal(m.code, 0, m.stderr);
  for (const f of ["config.json", "model.safetensors", "tokenizer.json"]) await access(join(merged, f));
  const fromMerged = await cli(["generate", "--model", merged, "--max-new-tokens", "6", "--json", "ROMEO:"]);
  assert.equal(fromMerged.code, 0, fromMerged.stderr);
  assert.equal(JSON.parse(fromMerged.stdout).completion, completion);

  const withBase = await cli(["generate", "--model", model, "--adapter", adapter, "--max-new-tokens", "6", "--json", "ROMEO:"]);
  assert.equal(JSON.parse(withBase.stdout).completion, completion);
});

test("a prompt-learning adapter generates, and merge refuses it in one line", async () => {
  const adapter = join(dir, "prompt");
  assert.equal((await cli(trainArgs("prompt", adapter))).code, 0);
  const generated = await cli(["generate", "--model", adapter, "--max-new-tokens", "4", "JULIET:"]);
  assert.equal(generated.code, 0, generated.stderr);
  assert.match(generated.stdout, /^JULIET:/);
  const refused = await cli(["merge", "--adapter", adapter, "--output", join(dir, "never")]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr.trim(), /^finetune merge: .* is a PROMPT_TUNING adapter; only LoRA and IA3 adapters can be merged into the weights/);
  assert.equal(refused.stderr.trim().split("\n").length, 1);
});
