import assert from "node:assert/strict";
import { mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadModelWeights, loadSafetensorsSharded, parseByteSize, saveModelWeights } from "../../src/io/model-weights.js";
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

test("saveModelWeights splits as transformers does: shards up to the limit in tensor order, an index, stale files removed", async () => {
  const { tensors } = await loadSafetensors(MODEL);
  const bytes = [...tensors.values()].map((t) => t.data.byteLength);
  // The fixture's word embeddings (64 KB) exceed the limit; every other tensor is at most 8 KB.
  const limit = 20_000;
  const out = join(dir, "save-sharded");
  await mkdir(out);
  await saveSafetensors(join(out, "model.safetensors"), tensors);
  await writeFile(join(out, "adapter_model.safetensors"), "not ours");
  const written = await saveModelWeights(out, tensors, { maxShardSize: limit });
  const shards = written.filter((n) => n !== "model.safetensors.index.json");
  assert.ok(shards.length >= 3, written.join());
  shards.forEach((n, i) => assert.equal(n, `model-${String(i + 1).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.safetensors`));
  assert.deepEqual((await readdir(out)).sort(), [...written, "adapter_model.safetensors"].sort(), "the earlier model.safetensors is gone");
  const index = JSON.parse(await readFile(join(out, "model.safetensors.index.json"), "utf8"));
  assert.equal(index.metadata.total_size, bytes.reduce((a, b) => a + b, 0));
  assert.deepEqual(Object.keys(index.weight_map), [...tensors.keys()].sort());
  // huggingface_hub's split: a tensor above the limit alone; the others in the model's order, each shard filled
  // until the next tensor would not fit.
  const contents = await Promise.all(shards.map(async (n) => [...(await loadSafetensors(join(out, n))).tensors.keys()]));
  const groups = contents.filter((names) => names.length > 1 || tensors.get(names[0]!)!.data.byteLength <= limit);
  const sizeOf = (names: string[]) => names.reduce((a, n) => a + tensors.get(n)!.data.byteLength, 0);
  assert.deepEqual(contents.filter((c) => !groups.includes(c)), [["distilbert.embeddings.word_embeddings.weight"]]);
  const order = [...tensors.keys()].filter((n) => tensors.get(n)!.data.byteLength <= limit);
  const inOrder = groups.map((names) => order.filter((n) => names.includes(n)));
  assert.deepEqual(inOrder.flat(), order);
  inOrder.forEach((names, i) => {
    assert.ok(sizeOf(names) <= limit);
    if (i + 1 < inOrder.length) assert.ok(sizeOf(names) + tensors.get(inOrder[i + 1]![0]!)!.data.byteLength > limit);
  });
  assert.deepEqual((await loadModelWeights(out)).tensors, tensors);

  // A tensor above the limit is a shard by itself; saving unsharded again removes every shard and the index.
  const alone = await saveModelWeights(out, tensors, { maxShardSize: 1 });
  assert.equal(alone.length, tensors.size + 1);
  assert.equal((await readdir(out)).filter((n) => n.startsWith("model-")).length, tensors.size);
  assert.deepEqual(await saveModelWeights(out, tensors), ["model.safetensors"]);
  assert.deepEqual((await readdir(out)).sort(), ["adapter_model.safetensors", "model.safetensors"]);
  assert.equal((await stat(join(out, "model.safetensors"))).size, (await stat(MODEL)).size);
});

test("parseByteSize reads sizes as transformers' max_shard_size does", () => {
  assert.equal(parseByteSize("20MB", "maxShardSize"), 20_000_000);
  assert.equal(parseByteSize("20MiB", "maxShardSize"), 20 * 2 ** 20);
  assert.equal(parseByteSize("1.5gb", "maxShardSize"), 1_500_000_000);
  assert.equal(parseByteSize("500KB", "maxShardSize"), 500_000);
  assert.equal(parseByteSize(4096, "maxShardSize"), 4096);
  assert.equal(parseByteSize("4096", "maxShardSize"), 4096);
  for (const bad of ["20 parsecs", "", "MB", "-5MB", 0, -1, Number.NaN, Infinity]) {
    assert.throws(() => parseByteSize(bad, "maxShardSize"), /^RangeError: maxShardSize: expected a positive size in bytes or with a unit \(e\.g\. "20MB", "5GiB"\), got /);
  }
});
