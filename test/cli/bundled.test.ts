// The offline path a new user takes first: the bundled model on a bundled task, from the CLI.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, test } from "node:test";
import { cli, removeTempDirs, tempDir } from "./tiny-models.js";

after(removeTempDirs);

test("train --model bundled --dataset bundled:sentiment trains on the shipped review sentences with their label names", async () => {
  const out = join(await tempDir(), "head");
  const r = await cli(["train", "--model", "bundled", "--dataset", "bundled:sentiment", "--method", "head", "--max-steps", "4", "--output", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /validation: acc .* rows 321/);
  assert.match(r.stdout, /test: acc .* rows 309/);
  const config = JSON.parse(await readFile(join(out, "config.json"), "utf8")) as { id2label: Record<string, string> };
  assert.deepEqual(config.id2label, { 0: "negative", 1: "positive" });
});
