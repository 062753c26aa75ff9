import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { writeAtomic, writeFileAtomic, writeJsonAtomic } from "../../src/io/atomic.js";
import { tempDir } from "./fixtures.js";

let dir = "";
let cleanup = async () => {};
before(async () => {
  ({ dir, cleanup } = await tempDir("atomic"));
});
after(() => cleanup());

test("writeFileAtomic and writeJsonAtomic replace the file whole", async () => {
  const path = join(dir, "a.json");
  await writeFile(path, "old");
  await writeJsonAtomic(path, { b: [1, 2] });
  assert.equal(await readFile(path, "utf8"), '{\n  "b": [\n    1,\n    2\n  ]\n}\n');
  await writeFileAtomic(path, new Uint8Array([104, 105]));
  assert.equal(await readFile(path, "utf8"), "hi");
  assert.deepEqual(await readdir(dir), ["a.json"]);
});

test("a failing writer leaves the previous file and no temp file", async () => {
  const path = join(dir, "b.bin");
  await writeFile(path, "previous");
  await assert.rejects(
    writeAtomic(path, async (fh) => {
      await fh.write("partial");
      throw new Error("writer failed");
    }),
    /writer failed/,
  );
  assert.equal(await readFile(path, "utf8"), "previous");
  assert.deepEqual((await readdir(dir)).filter((n) => n.includes("b.bin")), ["b.bin"]);
});

test("a missing directory is an error, not a silent success", async () => {
  await assert.rejects(writeFileAtomic(join(dir, "no", "such", "dir.txt"), "x"), /dir\.txt: no such file or folder/);
});
