import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { after, before, beforeEach, test } from "node:test";
import { loadHubDataset } from "../../src/data/hub-dataset.js";
import { splitDataset } from "../../src/data/split.js";
import { startHubServer, type HubServer } from "../helpers/hub-server.js";
import { tempDir } from "../io/fixtures.js";
import { tinyParquet } from "./tiny-parquet.js";

// loadHubDataset against a local hub: split discovery in the layouts the hub uses, label names from the card, the cache.

for (const key of Object.keys(process.env)) if (/^(HF_|HUGGING)/.test(key)) delete process.env[key];

const parquet = (rows: [string, number][]) =>
  tinyParquet([
    { name: "text", type: "string", values: rows.map((r) => r[0]) },
    { name: "label", type: "int64", values: rows.map((r) => r[1]) },
  ]);
const jsonl = (rows: [string, string][]) => rows.map(([text, label]) => JSON.stringify({ text, label })).join("\n") + "\n";
const card = (yaml: string) => `---\n${yaml.trim()}\n---\n# Dataset card\n`;
const SENTIMENT_INFO = `
dataset_info:
  features:
  - name: text
    dtype: string
  - name: label
    dtype:
      class_label:
        names:
          '0': neg
          '1': pos
`;

// Each repo: files on main, and optionally on the refs/convert/parquet branch.
const REPOS: Record<string, { main: Record<string, string | Buffer>; converted?: Record<string, string | Buffer> }> = {
  // push_to_hub's layout: data/{split}-NNNNN-of-NNNNN.parquet
  "test-org/sentiment": {
    main: {
      "README.md": card(SENTIMENT_INFO),
      ".gitattributes": "*.parquet filter=lfs\n",
      "data/train-00000-of-00002.parquet": parquet([["great film", 1], ["awful", 0]]),
      "data/train-00001-of-00002.parquet": parquet([["loved it", 1]]),
      "data/validation-00000-of-00001.parquet": parquet([["meh", 0]]),
      "data/test-00000-of-00001.parquet": parquet([["superb", 1], ["bad", 0]]),
    },
  },
  // split names in file names, no card
  "test-org/flat": { main: { "train.jsonl": jsonl([["yes", "pos"], ["no", "neg"]]), "test.jsonl": jsonl([["fine", "pos"]]), "LICENSE.md": "mit" } },
  // split folders per language
  "test-org/folders": {
    main: {
      "en/train/0000.parquet": parquet([["hello", 0]]),
      "en/dev/0000.parquet": parquet([["hi", 1]]),
      "fr/train/0000.parquet": parquet([["bonjour", 0]]),
    },
  },
  // the card's configs choose the files; a list of names per config
  "test-org/glue-like": {
    main: {
      "README.md": card(`
configs:
- config_name: sst2
  data_files:
  - split: train
    path: sst2/train-*
  - split: validation
    path: sst2/validation-*
- config_name: cola
  data_files:
  - split: train
    path: cola/train-*
dataset_info:
- config_name: sst2
  features:
  - name: sentence
    dtype: string
  - name: label
    dtype:
      class_label:
        names: [negative, positive]
- config_name: cola
  features:
  - name: label
    dtype:
      class_label:
        names: [unacceptable, acceptable]
`),
      "sst2/train-00000-of-00001.parquet": tinyParquet([
        { name: "sentence", type: "string", values: ["a gem", "a dud"] },
        { name: "label", type: "int64", values: [1, 0] },
      ]),
      "sst2/validation-00000-of-00001.parquet": tinyParquet([
        { name: "sentence", type: "string", values: ["fine"] },
        { name: "label", type: "int64", values: [1] },
      ]),
      "cola/train-00000-of-00001.parquet": parquet([["the cat sat", 1]]),
    },
  },
  // a loading script: only the hub's Parquet conversion is readable
  "test-org/scripted": {
    main: { "README.md": card(SENTIMENT_INFO.replace("dataset_info:", "dataset_info:\n  config_name: plain_text")), "scripted.py": "# builder" },
    converted: {
      "plain_text/train/0000.parquet": parquet([["from the conversion", 1]]),
      "plain_text/partial-test/0000.parquet": parquet([["partial", 0]]),
    },
  },
  "test-org/archives": { main: { "data/train.txt.gz": "x", "data/test.txt.gz": "y" } },
};

let server: HubServer;
let work = "";
let cleanup = async () => {};
let cacheCount = 0;
let cacheDir = "";

async function writeRepo(dir: string, files: Record<string, string | Buffer>): Promise<string> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return dir;
}

before(async () => {
  ({ dir: work, cleanup } = await tempDir("hub-datasets"));
  const datasets: Record<string, Record<string, string>> = {};
  for (const [id, { main, converted }] of Object.entries(REPOS)) {
    datasets[id] = { main: await writeRepo(join(work, "repos", id, "main"), main) };
    if (converted) datasets[id]["refs/convert/parquet"] = await writeRepo(join(work, "repos", id, "converted"), converted);
  }
  server = await startHubServer({}, datasets);
});

after(async () => {
  await server.close();
  await cleanup();
});

beforeEach(() => {
  cacheDir = join(work, `cache-${++cacheCount}`);
  server.sim.gated = undefined;
});

const opts = (extra: Record<string, unknown> = {}) => ({ cacheDir, endpoint: server.url, retries: 1, timeoutMs: 5000, ...extra });
const texts = (split: { rows: { text: string; label: number }[] } | undefined) => split?.rows.map((r) => [r.text, r.label]);

test("data/{split}-NNNNN-of-NNNNN.parquet: every split, shards in order, ClassLabel names from the card", async () => {
  const ds = await loadHubDataset("test-org/sentiment", opts());
  assert.deepEqual(texts(ds.train), [["great film", 1], ["awful", 0], ["loved it", 1]]);
  assert.deepEqual(texts(ds.validation), [["meh", 0]]);
  assert.deepEqual(texts(ds.test), [["superb", 1], ["bad", 0]]);
  assert.deepEqual(ds.labelNames, ["neg", "pos"]);
  const commit = server.commitOf("test-org/sentiment", "main", "dataset");
  assert.deepEqual(ds.source, {
    revision: "main",
    commit,
    config: "default",
    files: {
      train: ["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"],
      validation: ["data/validation-00000-of-00001.parquet"],
      test: ["data/test-00000-of-00001.parquet"],
    },
  });
  const root = join(cacheDir, "datasets--test-org--sentiment");
  assert.deepEqual((await readdir(root)).sort(), ["blobs", "refs", "snapshots", "trees"]);
  assert.equal(await readFile(join(root, "refs", "main"), "utf8"), commit);
  assert.ok(existsSync(join(root, "trees", `${commit}.json`)));
  assert.deepEqual((await readdir(join(root, "snapshots", commit, "data"))).length, 4);
});

test("a second load makes no request, and offline mode reads the same from the cache", async () => {
  const first = await loadHubDataset("test-org/sentiment", opts());
  const before = server.requests.length;
  assert.deepEqual(await loadHubDataset("test-org/sentiment", opts()), first);
  assert.deepEqual(await loadHubDataset("test-org/sentiment", opts({ offline: true, endpoint: "http://127.0.0.1:9" })), first);
  assert.equal(server.requests.length, before);
  await assert.rejects(loadHubDataset("test-org/flat", opts({ offline: true })), /offline mode \(HF_HUB_OFFLINE\): the file listing of dataset test-org\/flat/);
});

test("splits restricts the downloads; given labelNames win over the card", async () => {
  const first = server.requests.length;
  const ds = await loadHubDataset("test-org/sentiment", opts({ splits: ["train"], labelNames: ["negative", "positive"] }));
  assert.equal(ds.validation, undefined);
  assert.equal(ds.test, undefined);
  assert.deepEqual(ds.labelNames, ["negative", "positive"]);
  const fetched = server.requests.slice(first).filter((r) => r.path.includes("/resolve/") && r.method === "HEAD");
  assert.deepEqual(fetched.map((r) => r.path.replace(/.*\/resolve\/[0-9a-f]{40}\//, "")), ["README.md", "data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"]);
});

test("split names in file names (train.jsonl, test.jsonl); a train-only dataset can be split by the caller", async () => {
  const ds = await loadHubDataset("test-org/flat", opts());
  assert.deepEqual(texts(ds.train), [["yes", 1], ["no", 0]]);
  assert.deepEqual(texts(ds.test), [["fine", 1]]);
  assert.equal(ds.validation, undefined);
  assert.deepEqual(ds.labelNames, ["neg", "pos"], "no card: string labels, sorted");
  const { train, validation } = splitDataset(ds.train.rows, { validation: 1 });
  assert.deepEqual([train.length, validation!.length], [1, 1]);
});

test("split folders: dev counts as validation; config picks one top-level folder", async () => {
  const all = await loadHubDataset("test-org/folders", opts());
  assert.deepEqual(all.source.files, { train: ["en/train/0000.parquet", "fr/train/0000.parquet"], validation: ["en/dev/0000.parquet"] });
  const en = await loadHubDataset("test-org/folders", opts({ config: "en" }));
  assert.deepEqual(texts(en.train), [["hello", 0]]);
  assert.deepEqual(texts(en.validation), [["hi", 1]]);
  assert.equal(en.source.config, "en");
  await assert.rejects(loadHubDataset("test-org/folders", opts({ config: "de" })), /dataset test-org\/folders at revision main has no config "de"; its folders: en, fr/);
});

test("card configs: data_files per split, label names per config, an explicit choice among several", async () => {
  await assert.rejects(loadHubDataset("test-org/glue-like", opts()), /dataset test-org\/glue-like has several configs \(sst2, cola\); pass config to choose one/);
  await assert.rejects(loadHubDataset("test-org/glue-like", opts({ config: "mnli" })), /has no config "mnli"; its configs: sst2, cola/);
  const sst2 = await loadHubDataset("test-org/glue-like", opts({ config: "sst2", textColumn: "sentence" }));
  assert.deepEqual(texts(sst2.train), [["a gem", 1], ["a dud", 0]]);
  assert.deepEqual(texts(sst2.validation), [["fine", 1]]);
  assert.deepEqual(sst2.labelNames, ["negative", "positive"]);
  const cola = await loadHubDataset("test-org/glue-like", opts({ config: "cola" }));
  assert.deepEqual(cola.labelNames, ["unacceptable", "acceptable"]);
  assert.deepEqual(cola.source.files, { train: ["cola/train-00000-of-00001.parquet"] });
});

test("no readable data files on main: the refs/convert/parquet conversion is read instead", async () => {
  const ds = await loadHubDataset("test-org/scripted", opts());
  assert.deepEqual(texts(ds.train), [["from the conversion", 1]]);
  assert.deepEqual(texts(ds.test), [["partial", 0]]);
  assert.deepEqual(ds.labelNames, ["neg", "pos"], "from the main branch's card, config plain_text");
  assert.deepEqual(ds.source, {
    revision: "refs/convert/parquet",
    commit: server.commitOf("test-org/scripted", "refs/convert/parquet", "dataset"),
    config: "plain_text",
    files: { train: ["plain_text/train/0000.parquet"], test: ["plain_text/partial-test/0000.parquet"] },
  });
  const before = server.requests.length;
  assert.deepEqual(await loadHubDataset("test-org/scripted", opts({ offline: true })), ds);
  assert.equal(server.requests.length, before);
});

test("errors: unknown dataset, missing split, unsupported formats, gated", async () => {
  await assert.rejects(loadHubDataset("test-org/missing", opts()), /dataset test-org\/missing not found \(404 from /);
  await assert.rejects(
    loadHubDataset("test-org/flat", opts({ splits: ["train", "validation"] })),
    /^Error: dataset test-org\/flat at revision main: no data files for split "validation"; its splits: train \(train\.jsonl\); test \(test\.jsonl\)$/,
  );
  await assert.rejects(
    loadHubDataset("test-org/archives", opts()),
    /dataset test-org\/archives at revision main: unsupported file format for split "train" \(data\/train\.txt\.gz\); readable: \.parquet, .*; it has no Parquet conversion \(refs\/convert\/parquet\) either/,
  );
  server.sim.gated = "hf_granted";
  await assert.rejects(loadHubDataset("test-org/flat", opts()), /access to dataset test-org\/flat denied \(401 from .*it is gated: .*set HF_TOKEN/);
  assert.ok((await loadHubDataset("test-org/flat", opts({ token: "hf_granted" }))).train.rows.length === 2);
});
