// GGUF through the command line: export a causal LM, generate from the .gguf, train LoRA on it, and export the
// adapter merged into it; and the refusals, one line each.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { GgufMetadata, readGgufHeader } from "../../src/io/gguf.js";
import { SHAKESPEARE, cli, removeTempDirs, tempDir, tinyDistilBertDir, tinyGpt2Dir } from "./tiny-models.js";

after(removeTempDirs);

let model: string, dir: string;
before(async () => {
  [model, dir] = await Promise.all([tinyGpt2Dir(), tempDir()]);
});

const generate = async (args: string[]) => {
  const r = await cli(["generate", ...args, "--max-new-tokens", "6", "--json", "ROMEO:"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).completion as string;
};

test("export --format gguf, then generate, train --method lora and export again from the .gguf", async () => {
  const file = join(dir, "tiny.gguf");
  const exported = await cli(["export", "--model", model, "--format", "gguf", "--dtype", "f32", "--output", file]);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stdout, /^saved .*tiny\.gguf \(f32, 29 tensors, /);
  const meta = new GgufMetadata(readGgufHeader(file), file);
  assert.equal(meta.string("general.architecture"), "gpt2");
  assert.equal(meta.string("general.name"), model.split("/").at(-1));

  // f32 keeps every weight: the .gguf generates exactly what the folder does.
  assert.equal(await generate(["--model", file]), await generate(["--model", model]));

  const adapter = join(dir, "lora");
  const trained = await cli([
    "train", "--model", file, "--method", "lora", "--train", join(SHAKESPEARE, "train.jsonl"), "--max-rows", "8", "--max-steps", "2",
    "--batch-size", "4", "--max-length", "24", "--output", adapter,
  ]);
  assert.equal(trained.code, 0, trained.stderr);
  const fromAdapter = await generate(["--model", adapter]);

  const merged = join(dir, "merged.gguf");
  const again = await cli(["export", "--model", adapter, "--format", "gguf", "--output", merged]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /merged LORA adapter into GPT2LMHeadModel/);
  assert.match(again.stdout, /\(f16, 29 tensors, /);
  const q8 = join(dir, "merged-q8.gguf");
  assert.equal((await cli(["export", "--model", file, "--adapter", adapter, "--format", "gguf", "--dtype", "q8_0", "--output", q8])).code, 0);
  // Both merged files generate; f16 and q8_0 round the weights, so they need not match the adapter's continuation.
  assert.ok((await generate(["--model", merged])).length > 0);
  assert.ok((await generate(["--model", q8])).length > 0);
  assert.ok(fromAdapter.length > 0);
});

test("export refuses what llama.cpp cannot take, in one line", async () => {
  const cases: [string[], RegExp][] = [
    [["--model", model, "--output", join(dir, "x.gguf")], /--format is required/],
    [["--model", model, "--format", "onnx", "--output", join(dir, "x.gguf")], /--format/],
    [["--model", model, "--format", "gguf", "--dtype", "q4_0", "--output", join(dir, "x.gguf")], /--dtype/],
    [["--model", await tinyDistilBertDir(), "--format", "gguf", "--output", join(dir, "x.gguf")], /is a classifier; GGUF export writes causal LMs/],
  ];
  for (const [args, pattern] of cases) {
    const r = await cli(["export", ...args]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr.trim(), pattern);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});
