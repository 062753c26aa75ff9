import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, readlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { after, before, beforeEach, test } from "node:test";
import { listRepoTree, resolveModelFile, snapshotDownload } from "../../src/io/hub.js";
import { tinyParquet } from "../data/tiny-parquet.js";
import { startHubServer, type HubServer } from "../helpers/hub-server.js";
import { tempDir } from "./fixtures.js";

// Dataset repos through the hub client: /datasets/ URLs, the datasets--org--name cache, the tree API with pagination.

for (const key of Object.keys(process.env)) if (/^(HF_|HUGGING)/.test(key)) delete process.env[key];

const DATASET = "test-org/reviews";
const CONVERTED = "refs/convert/parquet";
const PARQUET = tinyParquet([
  { name: "text", type: "string", values: ["good", "bad"] },
  { name: "label", type: "int64", values: [1, 0] },
]);
const FILES: Record<string, string | Buffer> = {
  "README.md": "---\nlicense: mit\n---\n# reviews\n",
  ".gitattributes": "*.parquet filter=lfs\n",
  "data/train-00000-of-00001.parquet": PARQUET,
  "data/test-00000-of-00001.parquet": PARQUET,
  "extra/notes/readme.txt": "notes",
};

let server: HubServer;
let work = "";
let cleanup = async () => {};
let cacheCount = 0;
let cacheDir = "";

async function writeTree(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
}

before(async () => {
  ({ dir: work, cleanup } = await tempDir("hub-dataset"));
  await writeTree(join(work, "main"), FILES);
  await writeTree(join(work, "converted"), { "default/train/0000.parquet": PARQUET });
  await writeTree(join(work, "model"), { "config.json": "{}" });
  server = await startHubServer({ [DATASET]: join(work, "model") }, { [DATASET]: { main: join(work, "main"), [CONVERTED]: join(work, "converted") } });
});

after(async () => {
  await server.close();
  await cleanup();
});

beforeEach(() => {
  cacheDir = join(work, `cache-${++cacheCount}`);
  Object.assign(server.sim, { requireToken: undefined, gated: undefined, treePageSize: 1000, treeLinkOrigin: undefined, treeExtra: [] });
});

const opts = (extra: Record<string, unknown> = {}) => ({ repoType: "dataset" as const, cacheDir, endpoint: server.url, retries: 1, timeoutMs: 5000, ...extra });
const root = () => join(cacheDir, "datasets--test-org--reviews");
const commit = (revision = "main") => server.commitOf(DATASET, revision, "dataset");
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

test("dataset files download from /datasets/ into the datasets--org--name cache", async () => {
  const first = server.requests.length;
  const path = await resolveModelFile(DATASET, "data/train-00000-of-00001.parquet", opts());
  assert.equal(path, join(root(), "snapshots", commit(), "data", "train-00000-of-00001.parquet"));
  assert.equal(await readlink(path), join("..", "..", "..", "blobs", sha256(PARQUET)));  // standalone: a value under test, not a path the test reads
  assert.ok((await readFile(path)).equals(PARQUET));
  assert.equal(await readFile(join(root(), "refs", "main"), "utf8"), commit());
  assert.equal(server.requests[first]!.path, `/datasets/${DATASET}/resolve/main/data/train-00000-of-00001.parquet`);
  assert.equal(existsSync(join(cacheDir, "models--test-org--reviews")), false, "the model repo of the same name is untouched");
  const model = await resolveModelFile(DATASET, "config.json", opts({ repoType: "model" }));
  assert.equal(model, join(cacheDir, "models--test-org--reviews", "snapshots", server.commitOf(DATASET), "config.json"));
});

test("listRepoTree follows the pagination, keeps files only, and caches the listing per commit", async () => {
  server.sim.treePageSize = 2;
  const first = server.requests.length;
  const tree = await listRepoTree(DATASET, opts());
  assert.equal(tree.commit, commit());
  assert.deepEqual(tree.files.map((f) => f.path), Object.keys(FILES).sort());
  const train = tree.files.find((f) => f.path === "data/train-00000-of-00001.parquet")!;
  assert.deepEqual(train.lfs, { oid: sha256(PARQUET), size: PARQUET.length });
  assert.equal(tree.files.find((f) => f.path === "README.md")!.lfs, undefined);

  const sent = server.requests.slice(first).map((r) => r.path);
  assert.equal(sent[0], `/api/datasets/${DATASET}/revision/main`);
  assert.equal(sent[1], `/api/datasets/${DATASET}/tree/${commit()}?recursive=true`);
  assert.ok(sent.length >= 5, `pages followed: ${sent.join(" ")}`);
  assert.ok(sent.slice(2).every((p) => /\?recursive=true&cursor=\d+$/.test(p)));

  const cached = JSON.parse(await readFile(join(root(), "trees", `${commit()}.json`), "utf8"));
  assert.equal(cached.format_version, 1, "huggingface_hub's tree cache format");
  assert.deepEqual(cached.files["data/train-00000-of-00001.parquet"], { size: PARQUET.length, blob_id: train.oid, lfs_sha256: train.lfs!.oid, lfs_size: PARQUET.length });

  const before = server.requests.length;
  assert.deepEqual(await listRepoTree(DATASET, opts()), tree);
  assert.deepEqual(await listRepoTree(DATASET, opts({ offline: true, endpoint: "http://127.0.0.1:9" })), tree);
  assert.equal(server.requests.length, before, "answered from the cache");
});

test("offline without a cached listing fails clearly", async () => {
  await assert.rejects(listRepoTree(DATASET, opts({ offline: true })), /offline mode \(HF_HUB_OFFLINE\): the file listing of dataset test-org\/reviews at revision main is not in the cache/);
});

test("next-page links to another origin (a mirror passing on the hub's links) stay on the endpoint", async () => {
  server.sim.treePageSize = 2;
  server.sim.treeLinkOrigin = "http://127.0.0.1:9";
  process.env.HF_TOKEN = "hf_secret";
  try {
    const first = server.requests.length;
    const tree = await listRepoTree(DATASET, opts());
    assert.equal(tree.files.length, Object.keys(FILES).length);
    const pages = server.requests.slice(first).filter((r) => r.path.includes("cursor="));
    assert.ok(pages.length >= 2);
    assert.ok(pages.every((r) => r.server === "hub" && r.headers.authorization === "Bearer hf_secret"));
  } finally {
    delete process.env.HF_TOKEN;
  }
});

test("the refs/convert/parquet branch: encoded in URLs, its ref cached under refs/refs/convert/parquet", async () => {
  const first = server.requests.length;
  const tree = await listRepoTree(DATASET, opts({ revision: CONVERTED }));
  assert.equal(tree.commit, commit(CONVERTED));
  assert.deepEqual(tree.files.map((f) => f.path), ["default/train/0000.parquet"]);
  assert.equal(server.requests[first]!.path, `/api/datasets/${DATASET}/revision/refs%2Fconvert%2Fparquet`);
  assert.equal(await readFile(join(root(), "refs", "refs", "convert", "parquet"), "utf8"), commit(CONVERTED));
  const path = await resolveModelFile(DATASET, "default/train/0000.parquet", opts({ revision: CONVERTED }));
  assert.equal(path, join(root(), "snapshots", commit(CONVERTED), "default", "train", "0000.parquet"));
  assert.ok(server.requests.some((r) => r.path === `/datasets/${DATASET}/resolve/refs%2Fconvert%2Fparquet/default/train/0000.parquet`));
  assert.equal(await resolveModelFile(DATASET, "default/train/0000.parquet", opts({ revision: CONVERTED, offline: true })), path);
});

test("404s name the dataset or the revision", async () => {
  await assert.rejects(listRepoTree("test-org/nope", opts()), /^HttpStatusError: dataset test-org\/nope not found \(404 from http:\/\/127\.0\.0\.1:\d+\/api\/datasets\/test-org\/nope\/revision\/main\)$/);
  await assert.rejects(resolveModelFile("test-org/nope", "README.md", opts()), /dataset test-org\/nope not found \(404 from .*\/datasets\/test-org\/nope\/resolve\/main\/README\.md\)/);
  await assert.rejects(listRepoTree(DATASET, opts({ revision: "v9" })), /revision v9 not found in dataset test-org\/reviews/);
  await assert.rejects(resolveModelFile(DATASET, "missing.csv", opts()), /file missing\.csv not found in dataset test-org\/reviews at revision main \(404/);
});

test("private, gated: 401/403 mention HF_TOKEN; a gated dataset lists but does not download without it", async () => {
  server.sim.requireToken = "hf_secret";
  await assert.rejects(listRepoTree(DATASET, opts()), /access to dataset test-org\/reviews denied \(401 from .*set HF_TOKEN/);
  server.sim.requireToken = undefined;
  server.sim.gated = "hf_granted";
  assert.equal((await listRepoTree(DATASET, opts())).commit, commit());
  await assert.rejects(resolveModelFile(DATASET, "README.md", opts()), /denied \(401 from .*it is gated: request access at http:\/\/127\.0\.0\.1:\d+\/datasets\/test-org\/reviews, then set HF_TOKEN/);
  await assert.rejects(resolveModelFile(DATASET, "README.md", opts({ token: "hf_other" })), /denied \(403 from .*check that HF_TOKEN grants access/);
  assert.ok(await resolveModelFile(DATASET, "README.md", opts({ token: "hf_granted" })));
});

test("hostile listings and file names are refused", async () => {
  const before = server.requests.length;
  for (const name of ["../x", "data/../../x", "/etc/passwd"]) {
    await assert.rejects(resolveModelFile(DATASET, name, opts()), /invalid file name/);
  }
  await assert.rejects(listRepoTree("../evil", opts()), /invalid repo id/);
  assert.equal(server.requests.length, before);
  server.sim.treeExtra = [{ type: "file", path: "../../escape.parquet", size: 1, oid: "0" }];
  await assert.rejects(listRepoTree(DATASET, opts()), /invalid file name from the repo listing "\.\.\/\.\.\/escape\.parquet"/);
  server.sim.treeExtra = [{ type: "file", path: "x.parquet" }];
  await assert.rejects(listRepoTree(DATASET, opts()), /file entry without path, size or oid/);
  assert.equal(existsSync(join(root(), "trees")), false, "nothing cached from a bad listing");
});

test("snapshotDownload works for datasets too", async () => {
  const folder = await snapshotDownload(DATASET, opts({ allowPatterns: ["data/*"] }));
  assert.equal(folder, join(root(), "snapshots", commit()));
  assert.ok((await readFile(join(folder, "data", "test-00000-of-00001.parquet"))).equals(PARQUET));
});
