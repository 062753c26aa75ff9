// What `npm install finetune-ts` gets: the published file list must hold everything the installed package reads
// at install and run time (the addon's sources, the compiled code, the bundled model), or `--model bundled` and
// the native build would work in this checkout and fail for users.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { REPO } from "./cli/tiny-models.js";

test("the npm package ships the addon's sources, the build script, the CLI and the bundled model", () => {
  const [pack] = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: REPO, encoding: "utf8" })) as { files: { path: string }[] }[];
  const files = new Set(pack.files.map((f) => f.path));
  const needed = [
    "binding.gyp", "scripts/build-native.mjs", "dist/index.js", "dist/cli/bin.js",
    ...readdirSync(`${REPO}/native`).map((f) => `native/${f}`),
    ...["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "README.md"].map((f) => `assets/tiny-distilbert/${f}`),
  ];
  assert.deepEqual(needed.filter((f) => !files.has(f)), []);
  assert.equal([...files].some((f) => f.startsWith("test/") || f.startsWith("src/") || f.startsWith(".cache/")), false, "tests, sources and caches stay out");
});
