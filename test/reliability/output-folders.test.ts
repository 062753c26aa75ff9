// Output folders, in process: the lock (one writer, stale locks taken over), the artifact set replaced as a whole
// (also when a kill comes at either side of its commit point), the folder policy (foreign folders, inputs,
// --overwrite), file-system errors that name their path, library warnings through one handler, and a progress
// display that counts to max-steps.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, readFile, readdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../src/io/atomic.js";
import { fileSystemError } from "../../src/io/errors.js";
import { finishFileSet, replaceFileSet } from "../../src/io/file-set.js";
import { LOCK_FILE, lockFolder } from "../../src/io/folder-lock.js";
import { ARTIFACT_SET, prepareOutput } from "../../src/cli/pipeline/output-dir.js";
import { DataLoader } from "../../src/data/dataloader.js";
import { DistilBertForSequenceClassification, distilBertConfig } from "../../src/models/index.js";
import { SequenceClassificationModule, Trainer } from "../../src/train/index.js";
import { setWarningHandler, warn } from "../../src/warnings/index.js";
import { removeTempDirs, tempDir } from "../cli/tiny-models.js";

after(removeTempDirs);

test("a folder lock refuses a second writer while its process lives, and takes over a dead process's lock with a warning", async () => {
  const dir = await tempDir();
  const lock = await lockFolder(dir);
  await assert.rejects(lockFolder(dir), /being written by another finetune run \(process \d+/);
  await lock.release();
  assert.ok(!(await readdir(dir)).includes(LOCK_FILE));

  // A lock left by a process that is gone (a SIGKILLed run): the pid of a child that has exited.
  const dead = spawnSync(process.execPath, ["-e", "0"]).pid!;
  await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: dead, host: (await import("node:os")).hostname(), since: "earlier" }));
  const notes: string[] = [];
  const taken = await lockFolder(dir, { onStale: (m) => notes.push(m) });
  assert.match(notes.join(), new RegExp(`took over the lock of process ${dead}`));
  assert.equal(JSON.parse(await readFile(join(dir, LOCK_FILE), "utf8")).pid, process.pid);
  await taken.release();

  // Another machine's lock cannot be checked, so it is refused with the file to delete.
  await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: 1, host: "elsewhere", since: "earlier" }));
  await assert.rejects(lockFolder(dir), /process 1 on elsewhere .*delete .*\.finetune\.lock/);
});

test("an artifact set is replaced as a whole: members the new set lacks are removed, a kill before the commit leaves the old set, after it the next reader finishes the new one", async () => {
  const dir = await tempDir();
  const members = ["config.json", "model.safetensors", "adapter_config.json", "adapter_model.safetensors", "finetune.json"];
  await replaceFileSet(dir, members, async (f) => {
    await writeFile(join(f, "config.json"), "full");
    await writeFile(join(f, "model.safetensors"), "full");
    await writeFile(join(f, "finetune.json"), "full");
  });
  await writeFile(join(dir, "notes.txt"), "the user's");
  await replaceFileSet(dir, members, async (f) => {
    await writeFile(join(f, "adapter_config.json"), "lora");
    await writeFile(join(f, "adapter_model.safetensors"), "lora");
    await writeFile(join(f, "finetune.json"), "lora");
  });
  assert.deepEqual((await readdir(dir)).sort(), ["adapter_config.json", "adapter_model.safetensors", "finetune.json", "notes.txt"]);

  // Killed while writing (before the commit): the failed write leaves the old set and no staging folder.
  await assert.rejects(replaceFileSet(dir, members, async (f) => {
    await writeFile(join(f, "config.json"), "half");
    throw new Error("killed");
  }), /killed/);
  assert.deepEqual((await readdir(dir)).sort(), ["adapter_config.json", "adapter_model.safetensors", "finetune.json", "notes.txt"]);

  // Killed after the commit, with one file moved: what a kill in the middle of the moves leaves behind.
  const ready = join(dir, ".finetune-save.ready");
  await mkdir(ready);
  for (const [n, text] of [["config.json", "full2"], ["model.safetensors", "full2"], ["finetune.json", "full2"]]) await writeFile(join(ready, n!), text!);
  await writeFile(join(ready, ".files.json"), JSON.stringify(["config.json", "model.safetensors", "finetune.json"]));
  await rename(join(ready, "config.json"), join(dir, "config.json"));
  await finishFileSet(dir, members);
  assert.deepEqual((await readdir(dir)).sort(), ["config.json", "finetune.json", "model.safetensors", "notes.txt"]);
  for (const n of ["config.json", "model.safetensors", "finetune.json"]) assert.equal(await readFile(join(dir, n), "utf8"), "full2");

  // Members named by a pattern (weight shards): a sharded set replaced by one file leaves no shard behind.
  const shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"];
  await replaceFileSet(dir, ARTIFACT_SET, async (f) => {
    for (const n of ["config.json", ...shards]) await writeFile(join(f, n), "sharded");
  });
  assert.deepEqual((await readdir(dir)).sort(), ["config.json", ...shards, "notes.txt"].sort());
  await replaceFileSet(dir, ARTIFACT_SET, async (f) => {
    for (const n of ["config.json", "model.safetensors"]) await writeFile(join(f, n), "one file");
  });
  assert.deepEqual((await readdir(dir)).sort(), ["config.json", "model.safetensors", "notes.txt"]);
});

test("prepareOutput refuses the input folder, a foreign folder and an output of another command; --overwrite empties it unless an input lies inside", async () => {
  const model = await tempDir(), out = await tempDir();
  await assert.rejects(prepareOutput(model, { kind: "train", inputs: [model] }), /--output .* is also an input of this run/);
  await writeFile(join(out, "notes.txt"), "x");
  await assert.rejects(prepareOutput(out, { kind: "train", inputs: [model] }), /already holds files \(notes\.txt\).*--overwrite/);
  await writeFile(join(out, "train.jsonl"), "{}");
  await assert.rejects(prepareOutput(out, { kind: "train", overwrite: true, inputs: [join(out, "train.jsonl")] }), /--overwrite would delete .*train\.jsonl/);
  // Orphans of killed writes go too; the lock is held until released.
  await writeFile(join(out, ".metrics.json.123.0123456789ab.tmp"), "x");
  const lock = await prepareOutput(out, { kind: "train", overwrite: true, inputs: [model] });
  assert.deepEqual(await readdir(out), [".finetune-output.json", LOCK_FILE].sort());
  await assert.rejects(prepareOutput(out, { kind: "train", inputs: [] }), /being written by another finetune run/);
  await lock.release();
  await writeFile(join(out, ".finetune-output.json.77.0123456789ab.tmp"), "x");
  await (await prepareOutput(out, { kind: "train", inputs: [] })).release();
  assert.deepEqual(await readdir(out), [".finetune-output.json"]);
  await assert.rejects(prepareOutput(out, { kind: "merge", inputs: [] }), /already holds a finetune train output/);
  assert.ok(ARTIFACT_SET.includes("model.safetensors") && ARTIFACT_SET.includes("adapter_model.safetensors") && ARTIFACT_SET.includes("classifier.safetensors"));
});

test("file-system errors name the path and the problem in words", async () => {
  const dir = await tempDir();
  await writeFile(join(dir, "file"), "x");
  // A folder path through a file: ENOTDIR, which Node reports without the file the write was for.
  await assert.rejects(writeFileAtomic(join(dir, "file", "metrics.json"), "{}"), (e: Error) => e.message === `${join(dir, "file", "metrics.json")}: part of the path is a file, not a folder (writing)`);
  const enospc = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
  assert.equal((fileSystemError(enospc, "/runs/x/model.safetensors", "writing") as Error).message, "/runs/x/model.safetensors: no space left on the device (writing)");
  const other = new Error("not a file-system error");
  assert.equal(fileSystemError(other, "/x", "writing"), other);
});

test("library warnings go to the handler the application sets, each distinct one once; null restores process warnings", async () => {
  const got: string[] = [];
  setWarningHandler((m, code) => got.push(`${code}: ${m}`));
  try {
    warn("train data: truncated 3 of 5 rows", "FINETUNE_TRUNCATION");
    warn("train data: truncated 3 of 5 rows", "FINETUNE_TRUNCATION");
    warn("validation data: truncated 1 of 2 rows", "FINETUNE_TRUNCATION");
  } finally {
    setWarningHandler(null);
  }
  assert.deepEqual(got, ["FINETUNE_TRUNCATION: train data: truncated 3 of 5 rows", "FINETUNE_TRUNCATION: validation data: truncated 1 of 2 rows"]);
  const seen: string[] = [];
  const listener = (w: Error) => seen.push(w.message);
  process.on("warning", listener);
  warn("once", "FINETUNE_TEST");
  warn("once", "FINETUNE_TEST");
  await new Promise((r) => setImmediate(r));
  process.off("warning", listener);
  assert.deepEqual(seen, ["once"]);
});

test("the progress display counts to max-steps: the epochs it spans and the steps of a last, shortened epoch", async () => {
  const model = new DistilBertForSequenceClassification(distilBertConfig({ vocabSize: 20, dim: 8, nLayers: 1, nHeads: 2, hiddenDim: 16, maxPositionEmbeddings: 8, numLabels: 2 }));
  const examples = Array.from({ length: 13 }, (_, i) => ({ inputIds: [1, 2 + (i % 5), 3], label: i % 2 }));
  const lines: string[] = [];
  const trainer = new Trainer({ maxSteps: 12, logger: false, memoryLimitBytes: false, progressOutput: { write: (s: string) => lines.push(s) } });
  await trainer.fit(new SequenceClassificationModule(model, { lr: 1e-3, numLabels: 2 }), new DataLoader(examples, { batchSize: 1, padTokenId: 0, seed: 1 }));
  assert.match(lines.at(-1)!, /^epoch 0\/1 12\/12 /);
  assert.ok(lines.every((l) => !/\/\?|\/13 /.test(l)), lines.join(""));

  const more: string[] = [];
  const two = new Trainer({ maxSteps: 20, logger: false, memoryLimitBytes: false, progressOutput: { write: (s: string) => more.push(s) } });
  await two.fit(new SequenceClassificationModule(model, { lr: 1e-3, numLabels: 2 }), new DataLoader(examples, { batchSize: 1, padTokenId: 0, seed: 1 }));
  assert.match(more.find((l) => l.startsWith("epoch 0/2 13/13"))!, /13\/13/);
  assert.match(more.at(-1)!, /^epoch 1\/2 7\/7 /);
});
