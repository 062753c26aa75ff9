// Checklist item 7, end to end through from_pretrained against a local stand-in for the hub: hostile file names
// (in a request or inside a downloaded shard index) are refused before anything is fetched or written; a body that is
// cut off or fails its checksum is an error naming the file, and nothing a later (offline) load could mistake for the
// file is left in the cache. The unit tests of the same mechanisms are in test/io/hub.test.ts.
import { test, after, before, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { resolveModelFile } from "../../src/io/hub.js";
import { AutoModelForCausalLM } from "../../src/models/index.js";
import { startHubServer, type HubServer } from "../helpers/hub-server.js";
import { FIXTURES, assertNamesFile, rejection, tempDir } from "./helpers/common.js";

for (const key of Object.keys(process.env)) if (/^(HF_|HUGGING)/.test(key)) delete process.env[key];

let server: HubServer;
let dir = "";
let cleanup = async () => {};
let cacheDir = "";
let caches = 0;

before(async () => {
  ({ dir, cleanup } = await tempDir("hub"));
  const evil = join(dir, "repo-evil-index");
  await mkdir(evil);
  await copyFile(join(FIXTURES, "gpt2", "config.json"), join(evil, "config.json"));
  await writeFile(join(evil, "model.safetensors.index.json"), JSON.stringify({
    metadata: {}, weight_map: { "transformer.wte.weight": "../../../../escape.safetensors" },  // standalone: a value under test, not a path the test reads
  }));
  server = await startHubServer({ "org/gpt2": join(FIXTURES, "gpt2"), "org/evil-index": evil });
});
after(async () => {
  await server.close();
  await cleanup();
});
beforeEach(() => {
  cacheDir = join(dir, `cache-${++caches}`);
  server.resetSim();
});

const opts = (extra: Record<string, unknown> = {}) => ({ cacheDir, endpoint: server.url, retries: 0, timeoutMs: 5000, ...extra });

test("file names with .. or absolute paths, and hostile repo ids, are refused before any request", async () => {
  const requests = server.requests.length;
  for (const name of ["../../etc/passwd", "/etc/passwd", "a/../../b", "C:\\x", "..\\x"]) {
    assertNamesFile(await rejection(resolveModelFile("org/gpt2", name, opts())), JSON.stringify(name), /invalid file name/);
  }
  for (const repo of ["org/../../x", "../org/gpt2", "org/gpt2/../../x"]) {
    await assert.rejects(AutoModelForCausalLM.fromPretrained(repo, opts()), /invalid repo id|no such model folder/);
  }
  assert.equal(server.requests.length, requests, "no request was made");
  assert.equal(existsSync(cacheDir), false, "nothing was written");
});

test("a downloaded shard index naming a shard outside the repo is refused, and nothing escapes the cache", async () => {
  const err = await rejection(AutoModelForCausalLM.fromPretrained("org/evil-index", opts()));
  assertNamesFile(err, "model.safetensors.index.json", /invalid shard file "\.\.\/\.\.\/\.\.\/\.\.\/escape\.safetensors"/);
  assert.equal(server.requests.filter((r) => r.path.includes("escape")).length, 0, "the shard was never requested");
  assert.deepEqual((await readdir(dir)).filter((f) => f.includes("escape")), []);
});

test("a body cut off for good, or with a wrong checksum, fails naming the file and leaves no usable blob", async () => {
  // Cut off, and no retries left: the partial bytes stay as .incomplete (for a resume), never as the blob.
  server.sim.cutOnce.add("model.safetensors");
  const cut = await rejection(AutoModelForCausalLM.fromPretrained("org/gpt2", opts()));
  assertNamesFile(cut, "org/gpt2/model.safetensors", /download of .* failed|connection closed|aborted|ECONNRESET/);
  const blobs = join(cacheDir, "models--org--gpt2", "blobs");
  assert.ok((await readdir(blobs)).every((f) => f.endsWith(".incomplete") || !f.startsWith(".")), "only complete blobs or .incomplete files");
  await assert.rejects(AutoModelForCausalLM.fromPretrained("org/gpt2", opts({ offline: true })), /offline mode .* model\.safetensors|not in the cache|no model weights/);
  // The next online attempt resumes and gets the exact file.
  const model = await AutoModelForCausalLM.fromPretrained("org/gpt2", opts());
  assert.ok(model);

  cacheDir = join(dir, `cache-${++caches}`);
  server.sim.wrongChecksum = true;
  const bad = await rejection(AutoModelForCausalLM.fromPretrained("org/gpt2", opts()));
  assertNamesFile(bad, "org/gpt2/model.safetensors", /checksum mismatch .* the download was deleted/);
  // What is left is config.json's blob; no file of the weights' size, complete or partial.
  const blobDir = join(cacheDir, "models--org--gpt2", "blobs");
  const weightsSize = (await stat(join(FIXTURES, "gpt2", "model.safetensors"))).size;
  for (const f of await readdir(blobDir)) {
    assert.ok(!f.endsWith(".incomplete"), `partial download left: ${f}`);
    assert.notEqual((await stat(join(blobDir, f))).size, weightsSize, `the tampered weights were kept as ${f}`);
  }
  await assert.rejects(AutoModelForCausalLM.fromPretrained("org/gpt2", opts({ offline: true })), /offline mode|not in the cache|no model weights/);
});
