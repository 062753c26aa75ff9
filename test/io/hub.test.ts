import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, beforeEach, test } from "node:test";
import { loadModelWeights } from "../../src/io/model-weights.js";
import { globToRegExp, resolveModelFile, resolveWeights, snapshotDownload } from "../../src/io/hub.js";
import { loadSafetensors, saveSafetensors } from "../../src/io/safetensors.js";
import { startHubServer, type HubServer } from "../helpers/hub-server.js";
import { FIXTURES, listFiles, tempDir } from "./fixtures.js";
import { TORCH_113_STATE_DICT } from "./torch-sample.js";

const REPO = "test-org/tiny-distilbert";
const DISTILBERT = join(FIXTURES, "distilbert");
const MODEL_SHA256 = async () => createHash("sha256").update(await readFile(join(DISTILBERT, "model.safetensors"))).digest("hex");

// Nothing from the environment may leak in (a real HF_TOKEN, a real cache, offline mode).
for (const key of Object.keys(process.env)) if (/^(HF_|HUGGING)/.test(key)) delete process.env[key];

let server: HubServer;
let work = "";
let cleanup = async () => {};
let cacheCount = 0;
let cacheDir = "";

before(async () => {
  ({ dir: work, cleanup } = await tempDir("hub"));
  const sharded = join(work, "repo-sharded");
  const bin = join(work, "repo-bin");
  await mkdir(sharded);
  await mkdir(bin);
  const { tensors } = await loadSafetensors(join(DISTILBERT, "model.safetensors"));
  const names = [...tensors.keys()];
  const shardOf = (i: number) => `model-0000${(i % 2) + 1}-of-00002.safetensors`;
  for (const s of [0, 1]) {
    await saveSafetensors(join(sharded, shardOf(s)), Object.fromEntries(names.filter((_, i) => i % 2 === s).map((n) => [n, tensors.get(n)!])));
  }
  const weightMap = Object.fromEntries(names.map((n, i) => [n, shardOf(i)]));
  await writeFile(join(sharded, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  await writeFile(join(sharded, "config.json"), "{}");
  await writeFile(join(bin, "pytorch_model.bin"), TORCH_113_STATE_DICT);
  server = await startHubServer({ [REPO]: DISTILBERT, "test-org/sharded": sharded, "test-org/bin": bin });
});

after(async () => {
  await server.close();
  await cleanup();
});

beforeEach(() => {
  cacheDir = join(work, `cache-${++cacheCount}`);
  server.resetSim();
});

const opts = (extra: Record<string, unknown> = {}) => ({ cacheDir, endpoint: server.url, retries: 2, timeoutMs: 5000, ...extra });
const repoFolder = () => join(cacheDir, "models--test-org--tiny-distilbert");

test("downloads into the huggingface_hub cache layout", async () => {
  const path = await resolveModelFile(REPO, "model.safetensors", opts());
  const configPath = await resolveModelFile(REPO, "config.json", opts());
  const commit = server.commitOf(REPO);
  const sha = await MODEL_SHA256();
  const root = repoFolder();
  assert.equal(path, join(root, "snapshots", commit, "model.safetensors"));
  assert.equal(await readFile(join(root, "refs", "main"), "utf8"), commit);
  assert.ok((await lstat(path)).isSymbolicLink());
  assert.equal(await readlink(path), join("..", "..", "blobs", sha));
  assert.ok((await readFile(path)).equals(await readFile(join(DISTILBERT, "model.safetensors"))));
  const config = await readFile(join(DISTILBERT, "config.json"));
  const gitSha = createHash("sha1").update(`blob ${config.length}\0`).update(config).digest("hex");
  assert.equal(await readlink(configPath), join("..", "..", "blobs", gitSha));
  assert.deepEqual((await readdir(join(root, "blobs"))).sort(), [gitSha, sha].sort());
  assert.ok(server.requests.some((r) => r.server === "cdn" && r.path === `/lfs/${sha}`), "LFS file fetched from the CDN redirect");
});

test("a cached file is returned without any request", async () => {
  await resolveModelFile(REPO, "config.json", opts());
  const before = server.requests.length;
  const path = await resolveModelFile(REPO, "config.json", opts());
  assert.equal(server.requests.length, before);
  assert.ok(existsSync(path));
});

test("offline mode uses only the cache and explains a miss", async () => {
  await resolveModelFile(REPO, "config.json", opts());
  const before = server.requests.length;
  assert.ok(await resolveModelFile(REPO, "config.json", opts({ offline: true, endpoint: "http://127.0.0.1:9" })));
  await assert.rejects(resolveModelFile(REPO, "model.safetensors", opts({ offline: true })), /offline mode \(HF_HUB_OFFLINE\): model\.safetensors of test-org\/tiny-distilbert at revision main is not in the cache/);
  process.env.HF_HUB_OFFLINE = "1";
  try {
    await assert.rejects(resolveModelFile(REPO, "model.safetensors", opts()), /offline mode/);
    assert.equal(await resolveModelFile(REPO, "model.safetensors", opts({ required: false })), null);
  } finally {
    delete process.env.HF_HUB_OFFLINE;
  }
  assert.equal(server.requests.length, before);
});

test("a download cut off half way is resumed with a Range request", async () => {
  const first = server.requests.length;
  server.sim.cutOnce.add("model.safetensors");
  const path = await resolveModelFile(REPO, "model.safetensors", opts());
  assert.ok((await readFile(path)).equals(await readFile(join(DISTILBERT, "model.safetensors"))));
  const ranged = server.requests.slice(first).filter((r) => r.server === "cdn" && r.headers.range);
  assert.equal(ranged.length, 1);
  assert.match(ranged[0]!.headers.range!, /^bytes=[1-9]\d*-$/);
});

test("a partial file left by an earlier process is resumed", async () => {
  const first = server.requests.length;
  server.sim.cutOnce.add("model.safetensors");
  await assert.rejects(resolveModelFile(REPO, "model.safetensors", opts({ retries: 0 })), /aborted|ECONNRESET|closed after/);
  const blobs = join(repoFolder(), "blobs");
  const [partial] = await readdir(blobs);
  assert.match(partial!, /\.incomplete$/);
  const path = await resolveModelFile(REPO, "model.safetensors", opts());
  assert.ok((await readFile(path)).equals(await readFile(join(DISTILBERT, "model.safetensors"))));
  assert.equal(server.requests.slice(first).filter((r) => r.server === "cdn" && r.headers.range).length, 1);
  assert.deepEqual(await readdir(blobs), [await MODEL_SHA256()]);
});

test("a checksum mismatch fails clearly and leaves no file in the cache", async () => {
  server.sim.wrongChecksum = true;
  await assert.rejects(resolveModelFile(REPO, "model.safetensors", opts()), /checksum mismatch for test-org\/tiny-distilbert\/model\.safetensors: expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}/);
  assert.deepEqual(await readdir(join(repoFolder(), "blobs")), []);
  assert.equal(existsSync(join(repoFolder(), "snapshots")), false);
});

test("404 names the file, repo, revision and URL; optional files resolve to null and are remembered", async () => {
  await assert.rejects(
    resolveModelFile(REPO, "nope.json", opts()),
    new RegExp(`^Error: file nope\\.json not found in repo test-org/tiny-distilbert at revision main \\(404 from ${server.url}/test-org/tiny-distilbert/resolve/main/nope\\.json\\)$`),
  );
  assert.equal(await resolveModelFile(REPO, "nope.json", opts({ required: false })), null);
  const before = server.requests.length;
  assert.equal(await resolveModelFile(REPO, "nope.json", opts({ required: false })), null);
  assert.equal(server.requests.length, before, "the .no_exist marker answers without a request");
  await assert.rejects(resolveModelFile("test-org/unknown", "config.json", opts({ required: false })), /repo test-org\/unknown not found \(404 from /);
  await assert.rejects(resolveModelFile(REPO, "config.json", opts({ revision: "v9" })), /revision v9 not found in repo test-org\/tiny-distilbert \(404 from /);
});

test("path traversal in repo ids, file names and revisions is refused before any request", async () => {
  const before = server.requests.length;
  for (const filename of ["../x", "a/../../x", "/etc/passwd", "a//b", "a\\b", "", "C:/x", "."]) {
    await assert.rejects(resolveModelFile(REPO, filename, opts()), /invalid file name/, filename);
  }
  for (const repo of ["../evil", "a/b/c", "org/..", "org/name/", "org--x/name", "/abs"]) {
    await assert.rejects(resolveModelFile(repo, "config.json", opts()), /invalid repo id/, repo);
  }
  await assert.rejects(resolveModelFile(REPO, "config.json", opts({ revision: "../../x" })), /invalid revision/);
  assert.equal(server.requests.length, before);
  assert.equal(existsSync(cacheDir), false);
});

test("hostile ETag or commit headers cannot write outside the cache", async () => {
  server.sim.headerOverrides = { ETag: '"../../../../pwned"' };  // standalone: a value under test, not a path the test reads
  await assert.rejects(resolveModelFile(REPO, "config.json", opts()), /invalid ETag/);
  server.sim.headerOverrides = { "X-Repo-Commit": "../../escape" };
  await assert.rejects(resolveModelFile(REPO, "config.json", opts()), /no valid X-Repo-Commit/);
  assert.deepEqual((await readdir(work)).filter((n) => /pwned|escape/.test(n)), []);
});

test("HF_TOKEN is sent to the hub but not to the CDN; 401 mentions HF_TOKEN", async () => {
  server.sim.requireToken = "hf_secret";
  await assert.rejects(resolveModelFile(REPO, "model.safetensors", opts()), /401 from .*set HF_TOKEN/);
  process.env.HF_TOKEN = "hf_secret";
  try {
    const first = server.requests.length;
    await resolveModelFile(REPO, "model.safetensors", opts());
    const sent = server.requests.slice(first);
    assert.ok(sent.some((r) => r.server === "hub" && r.headers.authorization === "Bearer hf_secret"));
    assert.ok(sent.some((r) => r.server === "cdn"));
    assert.ok(sent.filter((r) => r.server === "cdn").every((r) => r.headers.authorization === undefined));
  } finally {
    delete process.env.HF_TOKEN;
  }
  await assert.rejects(resolveModelFile(REPO, "config.json", opts({ token: "wrong" })), /401 from .*check that HF_TOKEN grants access/);
});

test("server errors are retried a bounded number of times", async () => {
  server.sim.forceStatus = 503;
  const before = server.requests.length;
  await assert.rejects(resolveModelFile(REPO, "config.json", opts({ retries: 1 })), /HTTP 503/);
  assert.equal(server.requests.length - before, 2);
});

test("a silent server times out instead of hanging", async () => {
  server.sim.stall = true;
  const started = Date.now();
  await assert.rejects(resolveModelFile(REPO, "config.json", opts({ retries: 0, timeoutMs: 300 })), /no data from .* for 300 ms/);
  assert.ok(Date.now() - started < 5000);
});

test("a local folder is used in place", async () => {
  assert.equal(await resolveModelFile(DISTILBERT, "config.json"), join(DISTILBERT, "config.json"));
  assert.equal(await resolveModelFile(DISTILBERT, "missing.json", { required: false }), null);
  await assert.rejects(resolveModelFile(DISTILBERT, "../gpt2/config.json"), /invalid file name/);
});

test("snapshotDownload fetches the matching files of one commit, and works offline afterwards", async () => {
  const folder = await snapshotDownload(REPO, opts({ allowPatterns: ["*.json", "model.safetensors"], ignorePatterns: ["lora/*"] }));
  assert.equal(folder, join(repoFolder(), "snapshots", server.commitOf(REPO)));
  const got = (await listFiles(folder, "")).map((p) => p.slice(folder.length + 1));
  const want = (await listFiles(DISTILBERT, ""))
    .map((p) => p.slice(DISTILBERT.length + 1))
    .filter((f) => (f.endsWith(".json") || f === "model.safetensors") && !f.startsWith("lora/"));
  assert.deepEqual(got, want);
  const before = server.requests.length;
  assert.equal(await snapshotDownload(REPO, opts({ offline: true })), folder);
  assert.equal(server.requests.length, before);
  await assert.rejects(snapshotDownload("test-org/bin", opts({ offline: true })), /no cached snapshot of test-org\/bin/);
});

test("fnmatch patterns", () => {
  assert.ok(globToRegExp("*.json").test("lora/adapter_config.json"));
  assert.ok(globToRegExp("model-?????-of-*.safetensors").test("model-00001-of-00002.safetensors"));
  assert.ok(globToRegExp("[!a]*.bin").test("pytorch_model.bin"));
  assert.ok(!globToRegExp("[!p]*.bin").test("pytorch_model.bin"));
  assert.ok(globToRegExp("lora/").test("lora/x/y.json"));
  assert.ok(!globToRegExp("model.safetensors").test("modelxsafetensors"));
});

test("resolveWeights: single file, sharded index with every shard, pytorch_model.bin", async () => {
  const single = await resolveWeights(REPO, opts());
  assert.equal(single.format, "safetensors");
  assert.equal(single.files.length, 1);

  const sharded = await resolveWeights("test-org/sharded", opts());
  assert.equal(sharded.format, "safetensors");
  assert.deepEqual(sharded.files.map((f) => f.slice(sharded.folder.length + 1)), ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
  const expected = await loadSafetensors(join(DISTILBERT, "model.safetensors"));
  assert.deepEqual((await loadModelWeights(sharded.folder)).tensors, expected.tensors);
  const before = server.requests.length;
  assert.deepEqual(await resolveWeights("test-org/sharded", opts({ offline: true })), sharded);
  assert.equal(server.requests.length, before);

  const bin = await resolveWeights("test-org/bin", opts());
  assert.equal(bin.format, "pytorch");
  assert.equal((await loadModelWeights(bin.folder)).tensors.size, 17);

  const local = await resolveWeights(DISTILBERT);
  assert.deepEqual(local, { format: "safetensors", files: [join(DISTILBERT, "model.safetensors")], folder: DISTILBERT });
});
