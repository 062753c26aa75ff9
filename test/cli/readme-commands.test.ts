// The README's shell example, run as written (outputs under a temporary folder): the bundled model, tuned with
// LoRA on the bundled task, must give the answers the README shows for its example texts.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, test } from "node:test";
import { packageRoot } from "../../src/bundled/bundled-model.js";
import { cli, removeTempDirs, tempDir } from "./tiny-models.js";

after(removeTempDirs);

/** A shell line's words, with double-quoted words kept whole. */
const words = (line: string): string[] => [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);

test("the README's train and predict commands give the labels its comment shows", async () => {
  const readme = await readFile(join(packageRoot(), "README.md"), "utf8");
  const lines = readme.split("\n");
  const at = lines.findIndex((l) => l.startsWith("finetune predict --model runs/"));
  assert.ok(at > 0, "README: no `finetune predict --model runs/...` line");
  const predict = words(lines[at]).slice(1), expected = /^# → (.+)$/.exec(lines[at + 1])?.[1].split(", ");
  assert.ok(expected, `README line ${at + 2}: expected "# → label, label, ..." after the predict command`);
  const runDir = predict[predict.indexOf("--model") + 1];
  const train = lines.map(words).find((w) => w[0] === "finetune" && w[1] === "train" && w[w.indexOf("--output") + 1] === runDir);
  assert.ok(train, `README: no train command writing ${runDir}`);
  const out = join(await tempDir(), "run");
  const moved = (w: string[]) => w.map((x) => (x === runDir ? out : x));
  const trained = await cli(moved(train.slice(1)));
  assert.equal(trained.code, 0, trained.stderr);
  const r = await cli([...moved(predict), "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const labels = r.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { label: string }).label);
  assert.deepEqual(labels, expected);
});
