import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { readRecords, streamRecords } from "../../src/data/records.js";

const lm = fileURLToPath(new URL("../data/lm/", import.meta.url));
const scratch = await mkdtemp(join(tmpdir(), "records-"));
after(() => rm(scratch, { recursive: true, force: true }));

test("LM data: prompt/completion and text records", async () => {
  const gsm8k = await readRecords(join(lm, "gsm8k", "validation.jsonl"));
  assert.equal(gsm8k.length, 500);
  assert.deepEqual(Object.keys(gsm8k[0]!), ["prompt", "completion"]);
  assert.match(String(gsm8k[0]!.completion), /#### /);
  const shakespeare = await readRecords(join(lm, "tiny_shakespeare", "validation.jsonl"));
  assert.equal(shakespeare.length, 723);
  assert.equal(typeof shakespeare[0]!.text, "string");
});

test("streamRecords yields records one by one with their location", async () => {
  const file = join(lm, "tiny_shakespeare", "train.jsonl");
  let n = 0;
  for await (const item of streamRecords(file)) {
    if (++n === 3) {
      assert.equal(item.where, `${file}:3`);
      break;
    }
  }
  assert.equal(n, 3);
});

test("CRLF line endings and a byte order mark", async () => {
  const file = join(scratch, "crlf.jsonl");
  await writeFile(file, '\uFEFF{"text": "a"}\r\n{"text": "b"}\r\n');
  assert.deepEqual(await readRecords(file), [{ text: "a" }, { text: "b" }]);
  const csv = join(scratch, "bom.csv");
  await writeFile(csv, "\uFEFFtext,n\r\nx,1\r\n");
  assert.deepEqual(await readRecords(csv), [{ text: "x", n: "1" }]);
});

test("readRecords throws at the first bad record unless skipInvalid", async () => {
  const file = join(scratch, "bad.jsonl");
  await writeFile(file, '{"text": "a"}\n{oops}\n{"text": "c"}\n');
  await assert.rejects(readRecords(file), (e: Error) => e.message.startsWith(`${file}:2: invalid JSON`));
  assert.deepEqual(await readRecords(file, { skipInvalid: true }), [{ text: "a" }, { text: "c" }]);
});
