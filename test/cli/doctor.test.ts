// finetune doctor --model: what a checkpoint is, from its config.json; an unsupported model_type is one line
// that lists the supported ones.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { supportedModelTypes } from "../../src/models/index.js";
import { fixtureDir } from "../helpers/fixtures.js";
import { cli, removeTempDirs, tempDir } from "./tiny-models.js";

after(removeTempDirs);

async function configFolder(edit: (c: Record<string, unknown>) => void): Promise<string> {
  const c = JSON.parse(await readFile(fixtureDir("llama", "config.json"), "utf8"));
  edit(c);
  const dir = await tempDir("doctor-");
  await writeFile(join(dir, "config.json"), JSON.stringify(c));
  return dir;
}

test("a Qwen2 checkpoint is the Llama family, with Qwen2's own IA3 targets", async () => {
  const dir = await configFolder((c) => { c.model_type = "qwen2"; delete c.architectures; });
  const r = await cli(["doctor", "--model", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^family +llama \(model_type qwen2, decoder\)$/m);
  assert.match(r.stdout, /^size +about [\d.]+K parameters: 2 layers, hidden 32, 4 heads, vocabulary 512, 64 positions$/m);
  assert.match(r.stdout, /^tasks +seq-cls, causal-lm \(default causal-lm\); pretrain: next token$/m);
  assert.match(r.stdout, /^last-layers +the last blocks of layers, then norm, and the head$/m);
  assert.match(r.stdout, /^lora +q_proj, v_proj$/m);
  assert.match(r.stdout, /^ia3 +q_proj, v_proj, down_proj \(input scaled: down_proj\)$/m);
  assert.match(r.stdout, /^adapter +self_attn\.o_proj and mlp\.down_proj of every block$/m);

  const json = JSON.parse((await cli(["doctor", "--model", fixtureDir("distilbert"), "--json"])).stdout);
  assert.deepEqual([json.family, json.modelType, json.kind, json.defaultTask, json.tasks], ["distilbert", "distilbert", "encoder", "seq-cls", ["seq-cls"]]);
  assert.deepEqual(json.targets.lora, ["q_lin", "v_lin"]);
});

test("an unsupported model_type is one line naming the file and the supported types", async () => {
  const dir = await configFolder((c) => { c.model_type = "t5"; });
  const r = await cli(["doctor", "--model", dir]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`config\\.json: config field "model_type" is "t5", which is not supported \\(supported: ${supportedModelTypes().join(", ")}\\)$`, "m"));
});
