import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadModelWeights, loadSafetensorsSharded } from "../../src/io/model-weights.js";
import type { RawTensor } from "../../src/io/raw-tensor.js";
import { loadSafetensors, saveSafetensors } from "../../src/io/safetensors.js";
import { FIXTURES, tempDir } from "./fixtures.js";
import { TORCH_113_STATE_DICT } from "./torch-sample.js";

let dir = "";
let cleanup = async () => {};
before(async () => {
  ({ dir, cleanup } = await tempDir("checkpoint"));
});
after(() => cleanup());

const MODEL = join(FIXTURES, "distilbert", "model.safetensors");

/** Writes `tensors` as two safetensors shards plus model.safetensors.index.json into a new folder. */
async function writeSharded(name: string, tensors: Map<string, RawTensor>, edit?: (map: Record<string, string>) => void): Promise<string> {
  const out = join(dir, name);
  await mkdir(out);
  const shards: Record<string, RawTensor>[] = [{}, {}];
  const weightMap: Record<string, string> = {};
  [...tensors].forEach(([key, t], i) => {
    shards[i % 2]![key] = t;
    weightMap[key] = `model-0000${(i % 2) + 1}-of-00002.safetensors`;
  });
  await saveSafetensors(join(out, "model-00001-of-00002.safetensors"), shards[0]!);
  await saveSafetensors(join(out, "model-00002-of-00002.safetensors"), shards[1]!);
  edit?.(weightMap);
  await writeFile(join(out, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: 1 }, weight_map: weightMap }));
  return out;
}

test("loadModelWeights reads a model folder with model.safetensors", async () => {
  const { tensors } = await loadModelWeights(join(FIXTURES, "distilbert"));
  assert.deepEqual(tensors, (await loadSafetensors(MODEL)).tensors);
});

test("sharded safetensors load through the index, directly or via loadModelWeights", async () => {
  const { tensors } = await loadSafetensors(MODEL);
  const sharded = await writeSharded("sharded", tensors);
  assert.deepEqual((await loadSafetensorsSharded(sharded)).tensors, tensors);
  assert.deepEqual((await loadSafetensorsSharded(join(sharded, "model.safetensors.index.json"))).tensors, tensors);
  const viaFolder = await loadModelWeights(sharded);
  assert.deepEqual(viaFolder.tensors, tensors);
  assert.equal(viaFolder.metadata.format, "pt");
});

test("a shard index naming a path outside the folder is refused", async () => {
  const { tensors } = await loadSafetensors(MODEL);
  const sharded = await writeSharded("traversal", tensors, (map) => {
    map[Object.keys(map)[0]!] = "../model.safetensors";
  });
  await assert.rejects(loadSafetensorsSharded(sharded), /invalid shard file "\.\.\/model\.safetensors"/);
});

test("a tensor listed in the index but absent from its shard is reported", async () => {
  const { tensors } = await loadSafetensors(MODEL);
  const sharded = await writeSharded("missing", tensors, (map) => {
    map["not.there"] = "model-00001-of-00002.safetensors";
  });
  await assert.rejects(loadModelWeights(sharded), /"not\.there" is listed in shard model-00001-of-00002\.safetensors but not found there/);
});

test("loadModelWeights falls back to pytorch_model.bin", async () => {
  const out = join(dir, "bin");
  await mkdir(out);
  await writeFile(join(out, "pytorch_model.bin"), TORCH_113_STATE_DICT);
  const { tensors } = await loadModelWeights(out);
  assert.deepEqual(tensors.get("row"), { dtype: "F32", shape: [4], data: new Float32Array([4, 5, 6, 7]) });
});

test("loadModelWeights names what it looked for when a folder has no weights", async () => {
  const out = join(dir, "empty");
  await mkdir(out);
  await assert.rejects(loadModelWeights(out), new RegExp(`${out}: no model weights found \\(looked for model\\.safetensors, `));
});
