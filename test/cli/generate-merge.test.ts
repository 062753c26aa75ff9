// Causal LMs through the command line: a tiny random GPT-2 with the real GPT-2 tokenizer learns from
// Tiny Shakespeare with LoRA; generate continues a prompt through the adapter, and the merged model
// generates exactly what the adapter did.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { access, readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { loadModelWeights } from "../../src/io/model-weights.js";
import { AutoModelForCausalLM } from "../../src/models/index.js";
import { AutoTokenizer } from "../../src/tokenizers/index.js";
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
  assert.equal(weightDtypes(await loadModelWeights(merged)), "F32", "a float32 base merges into float32");

  // A bfloat16 base merges into bfloat16 (PEFT's merge keeps the base's precision); --max-shard-size splits the
  // file as transformers does, and a later merge into the same folder as one file leaves no shard behind.
  const bf16Base = join(dir, "bf16-base");
  await (await AutoModelForCausalLM.fromPretrained(model)).savePretrained(bf16Base, { dtype: "bfloat16" });
  await (await AutoTokenizer.fromPretrained(model)).savePretrained(bf16Base);
  const sharded = await cli(["merge", "--adapter", adapter, "--base-model", bf16Base, "--output", merged, "--overwrite", "--max-shard-size", "20KB"]);
  assert.equal(sharded.code, 0, sharded.stderr);
  assert.match(sharded.stdout, /^saved to .* \(model: .* bfloat16 in \d+ shards\)$/m);
  const files = await readdir(merged);
  assert.ok(files.includes("model.safetensors.index.json") && !files.includes("model.safetensors"), files.join());
  assert.equal(weightDtypes(await loadModelWeights(merged)), "BF16");
  assert.equal(JSON.parse(await readFile(join(merged, "config.json"), "utf8")).torch_dtype, "bfloat16");
  const fromSharded = await cli(["generate", "--model", merged, "--max-new-tokens", "6", "--json", "ROMEO:"]);
  assert.equal(fromSharded.code, 0, fromSharded.stderr);
  const again = await cli(["merge", "--adapter", adapter, "--base-model", bf16Base, "--output", merged, "--overwrite", "--dtype", "float32"]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual((await readdir(merged)).filter((n) => n.startsWith("model")), ["model.safetensors"]);
  assert.equal(weightDtypes(await loadModelWeights(merged)), "F32");

  const bad = await cli(["merge", "--adapter", adapter, "--output", join(dir, "never"), "--max-shard-size", "2 parsecs"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr.trim(), /^finetune merge: --max-shard-size: expected a positive size in bytes or with a unit \(e\.g\. "20MB", "5GiB"\), got "2 parsecs" \(see finetune merge --help\)$/);
});

/** The one dtype every tensor of a weight file set has. */
function weightDtypes({ tensors }: { tensors: Map<string, { dtype: string }> }): string {
  return [...new Set([...tensors.values()].map((t) => t.dtype))].join();
}

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
