// The project's own fixture generator (scripts/fixtures, a PyTorch reference run with Debian's python3-torch):
// `check` recomputes every committed fixture folder within the fixture README's tolerances, and fails on a
// folder that is off; a folder that `make` writes fresh is one the TypeScript implementation matches too.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { LlamaForCausalLM } from "../src/models/llama/index.js";
import { fixtureDir } from "./helpers/fixtures.js";
import { scratchDir } from "./helpers/temp-dir.js";
import { decoderFixtureTests } from "./models/decoder-cases.js";
import { peftFixtureTests } from "./peft/method-cases.js";

const PYTHON = "/usr/bin/python3";
const GENERATOR = fileURLToPath(new URL("../scripts/fixtures", import.meta.url));
const FAMILIES = ["distilbert", "bert", "gpt2", "llama", "modernbert", "qwen3", "phi3", "roberta", "gemma3", "gemma2"];

const hasTorch = spawnSync(PYTHON, ["-c", "import torch"]).status === 0;
const skip = hasTorch ? false : `${PYTHON} cannot import torch: apt-get install python3-torch`;

function generator(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync(PYTHON, [GENERATOR, ...args], { encoding: "utf8" });
  return { status: r.status, output: r.stdout + r.stderr };
}

const methodFolders = (dir: string) => readdirSync(dir).filter((d) => statSync(join(dir, d)).isDirectory());

test("check: the generator recomputes every committed fixture folder", { skip }, () => {
  const { status, output } = generator("check", ...FAMILIES.map((f) => fixtureDir(f)));
  assert.equal(status, 0, output);
  // One PASS row for each family's base model and for each of its method folders.
  const rows = FAMILIES.reduce((n, f) => n + 1 + methodFolders(fixtureDir(f)).length, 0);
  assert.equal(output.match(/ PASS$/gm)?.length, rows, output);
});

test("check: fails on a fixture folder whose config it would misread (rope_theta changed)", { skip }, async () => {
  const dir = join(await scratchDir("finetune-fixcheck-"), "llama");
  // The model and the full method are enough; the other method folders are left out to keep it quick.
  cpSync(fixtureDir("llama"), dir, { recursive: true, filter: (src) => !/lora|tuning|layers/.test(relative(fixtureDir("llama"), src)) });
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, rope_theta: 10000 }));
  const { status, output } = generator("check", dir);
  assert.equal(status, 1, output);
  assert.match(output, /^ {2}base .* FAIL$/m);
  assert.match(output, /^ {2}full .* FAIL$/m);
  assert.match(output, /logits: relative error/);
});

// A fresh Llama folder from `make`, held to the same tests as the committed ones.
if (hasTorch) {
  const fresh = join(await scratchDir("finetune-fixmake-"), "fresh-llama");
  const made = generator("make", "llama", fresh, "--seed", "7");
  assert.equal(made.status, 0, made.output);
  decoderFixtureTests({ model: fresh, load: (dir) => LlamaForCausalLM.fromPretrained(dir, { onWarning: () => {} }), lastLayers: ["model.layers.1", "model.norm", "lm_head"] });
  peftFixtureTests(fresh);
} else {
  test("make: a fresh fixture folder matches the TypeScript implementation", { skip }, () => {});
}
