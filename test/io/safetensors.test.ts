import assert from "node:assert/strict";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadSafetensors, loadSafetensorsSync, saveSafetensors } from "../../src/io/safetensors.js";
import type { RawTensor } from "../../src/io/raw-tensor.js";
import { FIXTURES, listFiles, tempDir } from "./fixtures.js";

let dir = "";
let cleanup = async () => {};
before(async () => {
  ({ dir, cleanup } = await tempDir("safetensors"));
});
after(() => cleanup());

test("every fixture loads, async and sync alike", async () => {
  const files = await listFiles(FIXTURES, ".safetensors");
  assert.ok(files.length > 50, `expected the fixture set, found ${files.length} files`);
  for (const file of files) {
    const { tensors, metadata } = await loadSafetensors(file);
    assert.equal(metadata.format, "pt", file);
    assert.ok(tensors.size > 0, file);
    for (const [name, t] of tensors) {
      assert.ok(t.dtype === "F32" || t.dtype === "I32", `${file} ${name}`);
      assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1), `${file} ${name}`);
    }
    assert.deepEqual(loadSafetensorsSync(file).tensors, tensors, file);
  }
  const expected = await loadSafetensors(join(FIXTURES, "bert", "expected.safetensors"));
  assert.deepEqual(expected.tensors.get("loss")?.shape, []);
  assert.ok(Number.isFinite((expected.tensors.get("loss")!.data as Float32Array)[0]));
});

test("save reproduces every fixture byte for byte", async () => {
  for (const file of await listFiles(FIXTURES, ".safetensors")) {
    const { tensors, metadata } = await loadSafetensors(file);
    const out = join(dir, "roundtrip.safetensors");
    await saveSafetensors(out, tensors, metadata);
    assert.ok((await readFile(out)).equals(await readFile(file)), `${file} differs after save`);
  }
});

test("all dtypes, 0-d and empty tensors, integer-like and unicode names survive a round trip", async () => {
  const tensors: Record<string, RawTensor> = {
    f64: { dtype: "F64", shape: [2], data: new Float64Array([1.5, -2.25]) },
    f32: { dtype: "F32", shape: [], data: new Float32Array([3]) },
    f16: { dtype: "F16", shape: [3], data: new Uint16Array([0x3c00, 0xc000, 0x7c00]) },
    bf16: { dtype: "BF16", shape: [1, 2], data: new Uint16Array([0x3f80, 0xbf80]) },
    i64: { dtype: "I64", shape: [2], data: new BigInt64Array([-(2n ** 40n), 7n]) },
    i32: { dtype: "I32", shape: [2, 1], data: new Int32Array([-1, 2 ** 30]) },
    i16: { dtype: "I16", shape: [1], data: new Int16Array([-300]) },
    i8: { dtype: "I8", shape: [3], data: new Int8Array([-128, 0, 127]) },
    u8: { dtype: "U8", shape: [1], data: new Uint8Array([255]) },
    bool: { dtype: "BOOL", shape: [2], data: new Uint8Array([1, 0]) },
    empty: { dtype: "F32", shape: [0, 4], data: new Float32Array(0) },
    "10": { dtype: "I8", shape: [1], data: new Int8Array([10]) },
    "2": { dtype: "I8", shape: [1], data: new Int8Array([2]) },
    "poids.é": { dtype: "U8", shape: [1], data: new Uint8Array([9]) },
  };
  const out = join(dir, "dtypes.safetensors");
  await saveSafetensors(out, tensors, { note: "hello" });
  const bytes = await readFile(out);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  assert.equal(headerLen % 8, 0);
  const header = bytes.subarray(8, 8 + headerLen).toString("utf8");
  assert.ok(header.startsWith('{"__metadata__":{"format":"pt","note":"hello"},"10":'), header);
  const order = ['"10":', '"2":', '"bf16":', '"poids.é":'].map((k) => header.indexOf(k));
  assert.deepEqual([...order].sort((a, b) => a - b), order, "byte-wise sorted names");
  const { tensors: back, metadata } = await loadSafetensors(out);
  assert.deepEqual(metadata, { format: "pt", note: "hello" });
  assert.equal(back.size, Object.keys(tensors).length);
  for (const [name, t] of Object.entries(tensors)) assert.deepEqual(back.get(name), t, name);
});

test("lazy: each tensor is read when its data is first used, with the same values; a file cut short is named then", async () => {
  const file = join(FIXTURES, "gpt2", "model.safetensors");
  const eager = (await loadSafetensors(file)).tensors;
  const lazy = (await loadSafetensors(file, { lazy: true })).tensors;
  assert.deepEqual([...lazy.keys()], [...eager.keys()]);
  for (const [name, t] of eager) {
    const l = lazy.get(name)!;
    assert.deepEqual([l.dtype, l.shape], [t.dtype, t.shape], name);
    assert.deepEqual(l.data, t.data, name);
    assert.equal(l.data, l.data, "read once, then kept");
  }
  const bytes = await readFile(file);
  const cut = join(dir, "cut.safetensors");
  await writeFile(cut, bytes);
  const pending = (await loadSafetensors(cut, { lazy: true })).tensors;
  await writeFile(cut, bytes.subarray(0, bytes.length - 16)); // replaced after the header was read
  assert.throws(() => { for (const t of pending.values()) void t.data; }, /cut\.safetensors.*unexpected end of file/);
});

test("filter reads only the selected tensors", async () => {
  const { tensors } = await loadSafetensors(join(FIXTURES, "gpt2", "model.safetensors"), { filter: (n) => n.endsWith(".bias") });
  assert.ok(tensors.size > 0);
  for (const name of tensors.keys()) assert.ok(name.endsWith(".bias"), name);
});

test("save refuses bad tensors and leaves the previous file and no temp file behind", async () => {
  const sub = join(dir, "atomic");
  await mkdir(sub);
  const out = join(sub, "w.safetensors");
  await saveSafetensors(out, { a: { dtype: "F32", shape: [1], data: new Float32Array([1]) } });
  const before = await readFile(out);
  const bad: [string, RawTensor, RegExp][] = [
    ["wrong length", { dtype: "F32", shape: [2], data: new Float32Array(3) }, /3 values for shape \[2\]/],
    ["wrong array", { dtype: "F16", shape: [1], data: new Float32Array(1) }, /Float32Array data/],
    ["bad dim", { dtype: "F32", shape: [-1], data: new Float32Array(0) }, /invalid shape/],
  ];
  for (const [what, t, re] of bad) {
    await assert.rejects(saveSafetensors(out, { a: t }), (err: Error) => re.test(err.message) && err.message.includes(out), what);
  }
  await assert.rejects(saveSafetensors(out, { __metadata__: { dtype: "U8", shape: [0], data: new Uint8Array(0) } }), /reserved name/);
  assert.ok((await readFile(out)).equals(before));
  assert.deepEqual(await readdir(sub), ["w.safetensors"]);
});

/** A safetensors file from a header (object or raw JSON text) and `dataLen` zero bytes, optionally lying about N. */
async function craft(name: string, header: unknown, dataLen: number, headerLenOverride?: bigint): Promise<string> {
  const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(headerLenOverride ?? BigInt(json.length));
  const path = join(dir, `${name}.safetensors`);
  await writeFile(path, Buffer.concat([prefix, json, Buffer.alloc(dataLen)]));
  return path;
}

async function assertRejectsNaming(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(loadSafetensors(path), (err: Error) => {
    assert.ok(err.message.startsWith(`${path}: `), `message should name the file: ${err.message}`);
    assert.match(err.message, pattern);
    return true;
  });
  assert.throws(() => loadSafetensorsSync(path), (err: Error) => err.message.startsWith(`${path}: `) && pattern.test(err.message));
}

const f32 = (shape: number[], offsets: number[]) => ({ dtype: "F32", shape, data_offsets: offsets });

test("hostile: file shorter than the length prefix", async () => {
  const path = join(dir, "tiny.safetensors");
  await writeFile(path, Buffer.from([1, 2, 3]));
  await assertRejectsNaming(path, /shorter than the 8-byte header length/);
});

test("hostile: header length larger than the file", async () => {
  await assertRejectsNaming(await craft("long-header", { a: f32([1], [0, 4]) }, 4, 5000n), /header length 5000 is larger than the file/);
});

test("hostile: absurd header length is refused before any allocation", async () => {
  await assertRejectsNaming(await craft("absurd", {}, 0, 2n ** 62n), /absurd/);
});

test("hostile: invalid JSON", async () => {
  await assertRejectsNaming(await craft("bad-json", '{"a": {"dtype": "F32",', 0), /invalid JSON/);
});

test("hostile: header not UTF-8", async () => {
  const path = join(dir, "latin1.safetensors");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(4n);
  await writeFile(path, Buffer.concat([prefix, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])]));
  await assertRejectsNaming(path, /not valid UTF-8/);
});

test("hostile: header is not an object", async () => {
  await assertRejectsNaming(await craft("array", "[1,2]", 0), /not an object/);
});

test("hostile: unknown dtype", async () => {
  await assertRejectsNaming(await craft("dtype", { a: { dtype: "C64", shape: [1], data_offsets: [0, 8] } }, 8), /unknown dtype "C64"/);
});

test("hostile: shape and offsets disagree", async () => {
  await assertRejectsNaming(await craft("mismatch", { a: f32([2, 2], [0, 12]) }, 16), /span 12 bytes but shape \[2, 2\] of F32 needs 16/);
});

test("hostile: offsets beyond the data region", async () => {
  await assertRejectsNaming(await craft("range", { a: f32([4], [4, 20]) }, 16), /out of range: the data region holds 16 bytes/);
});

test("hostile: offsets ending before they begin", async () => {
  await assertRejectsNaming(await craft("reversed", { a: f32([0], [8, 4]) }, 16), /end before they begin/);
});

test("hostile: malformed offsets", async () => {
  await assertRejectsNaming(await craft("offsets", { a: f32([1], [0, 4, 8]) }, 16), /data_offsets must be two non-negative integers/);
  await assertRejectsNaming(await craft("offsets-neg", { a: f32([1], [-4, 0]) }, 16), /data_offsets must be two non-negative integers/);
});

test("hostile: overlapping tensors", async () => {
  await assertRejectsNaming(await craft("overlap", { a: f32([2], [0, 8]), b: f32([2], [4, 12]) }, 12), /"a" \[0, 8\] and "b" \[4, 12\] overlap/);
});

test("hostile: negative dimension", async () => {
  await assertRejectsNaming(await craft("negative", { a: f32([-1, 4], [0, 0]) }, 0), /invalid dimension -1/);
});

test("hostile: non-integer dimension", async () => {
  await assertRejectsNaming(await craft("fraction", { a: f32([1.5], [0, 6]) }, 8), /invalid dimension 1.5/);
  await assertRejectsNaming(await craft("string-dim", { a: f32(["4"] as unknown as number[], [0, 16]) }, 16), /invalid dimension "4"/);
});

test("hostile: element count overflow", async () => {
  await assertRejectsNaming(await craft("overflow", { a: f32([2 ** 30, 2 ** 30, 2 ** 30], [0, 0]) }, 0), /overflows the element count/);
});

test("hostile: metadata that is not string to string", async () => {
  await assertRejectsNaming(await craft("meta", { __metadata__: { format: 1 } }, 0), /__metadata__ must map strings to strings/);
});

test("hostile: truncated data region", async () => {
  // The header is consistent but claims more data than the file has: caught by the range check, not by a short read.
  await assertRejectsNaming(await craft("truncated", { a: f32([8], [0, 32]) }, 30), /out of range/);
});
