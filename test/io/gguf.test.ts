// The GGUF reader on files built byte by byte from ggml's docs/gguf.md (every metadata type, nested arrays, a
// non-default alignment, tensor data in another order than the tensor infos), the writer's layout, ggml's Q8_0
// rounding, and hostile headers: each refused with an error naming the file, before allocating what it claims.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, test } from "node:test";
import { FileFormatError } from "../../src/io/errors.js";
import { dequantize, GGML_TYPE, quantize } from "../../src/io/ggml-types.js";
import { array, GgufValueType, readGgufHeader, readGgufTensors, str, u32, writeGguf, type GgufArray } from "../../src/io/gguf.js";
import { scratchDir } from "../helpers/temp-dir.js";

let dir = "";
before(async () => {
  dir = await scratchDir("gguf-");
});

// ---- a byte-level GGUF builder, written from the spec, independent of src/io/gguf.ts
const u8 = (v: number) => Buffer.from([v]);
const le32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
const le64 = (v: number | bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
const gstr = (s: string | Buffer) => { const b = Buffer.isBuffer(s) ? s : Buffer.from(s, "utf8"); return Buffer.concat([le64(b.length), b]); };
const kv = (key: string, type: number, value: Buffer) => Buffer.concat([gstr(key), le32(type), value]);
const tinfo = (name: string, ne: number[], type: number, offset: number) =>
  Buffer.concat([gstr(name), le32(ne.length), ...ne.map(le64), le32(type), le64(offset)]);
const header = (version: number, tensors: number | bigint, kvs: number | bigint) => Buffer.concat([Buffer.from("GGUF"), le32(version), le64(tensors), le64(kvs)]);
const pad = (buf: Buffer, alignment: number) => Buffer.concat([buf, Buffer.alloc((alignment - (buf.length % alignment)) % alignment)]);
const f32s = (...v: number[]) => Buffer.from(Float32Array.from(v).buffer);

let n = 0;
async function file(bytes: Buffer): Promise<string> {
  const path = join(dir, `f${++n}.gguf`);
  await writeFile(path, bytes);
  return path;
}

function readAll(path: string) {
  const h = readGgufHeader(path);
  const tensors = new Map<string, { shape: number[]; values: number[] }>();
  readGgufTensors(path, h, (info, values) => tensors.set(info.name, { shape: info.shape, values: [...values] }));
  return { h, tensors };
}

test("reads a hand-built v3 file: every value type, nested arrays, alignment 64, data out of tensor-info order", async () => {
  const i16 = Buffer.alloc(2); i16.writeInt16LE(-300);
  const i32 = Buffer.alloc(4); i32.writeInt32LE(-70000);
  const f32 = Buffer.alloc(4); f32.writeFloatLE(0.5);
  const f64 = Buffer.alloc(8); f64.writeDoubleLE(1e-300);
  const i64 = Buffer.alloc(8); i64.writeBigInt64LE(-(2n ** 62n));
  const u16 = Buffer.alloc(2); u16.writeUInt16LE(65535);
  const kvs = [
    kv("general.architecture", 8, gstr("llama")),
    kv("general.alignment", 4, le32(64)),
    kv("t.u8", 0, u8(200)), kv("t.i8", 1, Buffer.from([0xff])), kv("t.u16", 2, u16), kv("t.i16", 3, i16),
    kv("t.u32", 4, le32(4000000000)), kv("t.i32", 5, i32), kv("t.f32", 6, f32), kv("t.bool", 7, u8(1)),
    kv("t.str", 8, gstr("héllo ▁ 🦙")), kv("t.u64", 10, le64(2n ** 60n)), kv("t.i64", 11, i64), kv("t.f64", 12, f64),
    kv("t.small_u64", 10, le64(42)),
    kv("t.strings", 9, Buffer.concat([le32(8), le64(3), gstr("a"), gstr(""), gstr("b c")])),
    kv("t.ints", 9, Buffer.concat([le32(5), le64(2), i32, le32(7)])),
    kv("t.nested", 9, Buffer.concat([le32(9), le64(2), le32(4), le64(1), le32(1), le32(8), le64(1), gstr("x")])),
    kv("t.empty", 9, Buffer.concat([le32(6), le64(0)])),
  ];
  // "b" is listed first but its data comes second; "a" (F16, 2x3) sits at offset 0.
  const aData = Buffer.from(Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x0000, 0x7bff, 0x8001]).buffer); // 1, -2, 0.5, 0, 65504, -2^-24
  const bData = f32s(1.5, -2.25, 3, 4);
  const infos = [tinfo("b", [2, 2], 0, 64), tinfo("a", [3, 2], 1, 0)];
  const head = pad(Buffer.concat([header(3, 2, kvs.length), ...kvs, ...infos]), 64);
  const path = await file(Buffer.concat([head, pad(aData, 64), bData]));

  const { h, tensors } = readAll(path);
  assert.equal(h.version, 3);
  assert.equal(h.alignment, 64);
  assert.equal(h.dataStart, head.length);
  const value = (k: string) => h.metadata.get(k)!.value;
  assert.deepEqual([...h.metadata.keys()].slice(0, 3), ["general.architecture", "general.alignment", "t.u8"]);
  assert.equal(value("t.u8"), 200);
  assert.equal(value("t.i8"), -1);
  assert.equal(value("t.u16"), 65535);
  assert.equal(value("t.i16"), -300);
  assert.equal(value("t.u32"), 4000000000);
  assert.equal(value("t.i32"), -70000);
  assert.equal(value("t.f32"), 0.5);
  assert.equal(value("t.bool"), true);
  assert.equal(value("t.str"), "héllo ▁ 🦙");
  assert.equal(value("t.u64"), 2n ** 60n);
  assert.equal(value("t.i64"), -(2n ** 62n));
  assert.equal(value("t.f64"), 1e-300);
  assert.equal(value("t.small_u64"), 42);
  assert.deepEqual((value("t.strings") as GgufArray).items, ["a", "", "b c"]);
  assert.deepEqual(value("t.ints"), { itemType: GgufValueType.INT32, items: [-70000, 7] });
  assert.deepEqual(value("t.nested"), {
    itemType: GgufValueType.ARRAY,
    items: [{ itemType: GgufValueType.UINT32, items: [1] }, { itemType: GgufValueType.STRING, items: ["x"] }],
  });
  assert.deepEqual(value("t.empty"), { itemType: GgufValueType.FLOAT32, items: [] });
  assert.deepEqual(h.tensors.map((t) => [t.name, t.shape, t.offset]), [["b", [2, 2], 64], ["a", [2, 3], 0]]);
  assert.deepEqual(tensors.get("a"), { shape: [2, 3], values: [1, -2, 0.5, 0, 65504, -(2 ** -24)] });
  assert.deepEqual(tensors.get("b"), { shape: [2, 2], values: [1.5, -2.25, 3, 4] });
});

test("reads version 2 files and the default alignment of 32", async () => {
  const kvs = [kv("general.architecture", 8, gstr("gpt2"))];
  const head = pad(Buffer.concat([header(2, 1, 1), ...kvs, tinfo("w", [4], 0, 0)]), 32);
  const { h, tensors } = readAll(await file(Buffer.concat([head, f32s(1, 2, 3, 4)])));
  assert.equal(h.version, 2);
  assert.equal(h.alignment, 32);
  assert.equal(h.dataStart % 32, 0);
  assert.deepEqual(tensors.get("w")!.values, [1, 2, 3, 4]);
});

test("writeGguf lays a file out as ggml does: v3, metadata then infos in order, each tensor at the next aligned offset", async () => {
  const path = join(dir, "written.gguf");
  const a = new Uint8Array(f32s(1, 2, 3));
  const b = quantize(GGML_TYPE.Q8_0, Float32Array.from({ length: 64 }, (_, i) => i - 32));
  await writeGguf(path, [["general.architecture", str("llama")], ["x.list", array(GgufValueType.UINT32, [1, 2])], ["x.n", u32(7)]], [
    { name: "a", shape: [3], type: GGML_TYPE.F32, data: a },
    { name: "b", shape: [2, 32], type: GGML_TYPE.Q8_0, data: b },
  ]);
  const bytes = await readFile(path);
  const expectedHead = Buffer.concat([
    header(3, 2, 3),
    kv("general.architecture", 8, gstr("llama")),
    kv("x.list", 9, Buffer.concat([le32(4), le64(2), le32(1), le32(2)])),
    kv("x.n", 4, le32(7)),
    tinfo("a", [3], 0, 0),
    tinfo("b", [32, 2], 8, 32),
  ]);
  const dataStart = expectedHead.length + ((32 - (expectedHead.length % 32)) % 32);
  assert.deepEqual(bytes.subarray(0, expectedHead.length), expectedHead);
  assert.ok(bytes.subarray(expectedHead.length, dataStart).every((x) => x === 0), "zero padding before the data");
  assert.deepEqual(bytes.subarray(dataStart, dataStart + 12), Buffer.from(a));
  assert.ok(bytes.subarray(dataStart + 12, dataStart + 32).every((x) => x === 0));
  assert.deepEqual(bytes.subarray(dataStart + 32, dataStart + 32 + 68), Buffer.from(b));
  assert.equal(bytes.length, dataStart + 32 + 96, "the last tensor is padded to the alignment too");
});

test("Q8_0 is ggml's quantize_row_q8_0_ref: d = max|x|/127 stored as fp16, q = roundf(x/d), ties away from zero", () => {
  const x = new Float32Array(64);
  x.set([127, -63.5, 0.5, -0.5, 2.5, 1.49, -127]); // block 0: d = 1 exactly
  // block 1 stays all zero: d = 0 and every q = 0
  const bytes = quantize(GGML_TYPE.Q8_0, x);
  assert.equal(bytes.length, 68);
  const view = new DataView(bytes.buffer);
  assert.equal(view.getUint16(0, true), 0x3c00, "d = 1.0 in fp16");
  assert.deepEqual([...new Int8Array(bytes.buffer, 2, 7)], [127, -64, 1, -1, 3, 1, -127]);
  assert.equal(view.getUint16(34, true), 0);
  assert.ok(new Int8Array(bytes.buffer, 36, 32).every((q) => q === 0));
  assert.deepEqual([...dequantize(GGML_TYPE.Q8_0, bytes, 64)!.subarray(0, 7)], [127, -64, 1, -1, 3, 1, -127]);

  // A scale fp16 cannot hold exactly: the values come back as fp16(d) * q.
  const y = Float32Array.from({ length: 32 }, (_, i) => Math.sin(i) * 0.3);
  const q = quantize(GGML_TYPE.Q8_0, y);
  const d = dequantize(GGML_TYPE.F16, q.subarray(0, 2), 1)![0]!;
  const back = dequantize(GGML_TYPE.Q8_0, q, 32)!;
  back.forEach((v, i) => {
    assert.equal(v, Math.fround(d * new Int8Array(q.buffer, 2, 32)[i]!));
    assert.ok(Math.abs(v - y[i]!) <= d / 2 + 127 * d * 2 ** -11, `${v} vs ${y[i]}`); // rounding plus d's fp16 rounding
  });
  assert.throws(() => quantize(GGML_TYPE.Q8_0, new Float32Array(33)), /multiple of 32/);
});

// ---- hostile files
const valid = () => {
  const kvs = [kv("general.architecture", 8, gstr("llama")), kv("n", 9, Buffer.concat([le32(8), le64(2), gstr("x"), gstr("yz")]))];
  return Buffer.concat([pad(Buffer.concat([header(3, 1, kvs.length), ...kvs, tinfo("w", [4], 0, 0)]), 32), f32s(1, 2, 3, 4)]);
};

async function refused(bytes: Buffer, pattern: RegExp): Promise<void> {
  const path = await file(bytes);
  const before = process.memoryUsage().arrayBuffers;
  assert.throws(() => readAll(path), (e: unknown) => {
    assert.ok(e instanceof FileFormatError, `${String(e)}`);
    assert.ok(e.message.startsWith(`${path}: `), e.message);
    assert.match(e.message, pattern);
    assert.equal(e.message.split("\n").length, 1);
    return true;
  });
  assert.ok(process.memoryUsage().arrayBuffers - before < 8 << 20, "allocated more than the file holds before refusing");
}

test("a valid file truncated anywhere is refused with the file named", async () => {
  const bytes = valid();
  assert.doesNotThrow(() => readAll(bytesPath(bytes)));
  for (let cut = 0; cut < bytes.length; cut += 3) await refused(bytes.subarray(0, cut), /invalid GGUF|end of file/);
});

function bytesPath(bytes: Buffer): string {
  const path = join(dir, `v${++n}.gguf`);
  writeFileSync(path, bytes);
  return path;
}

test("hostile headers: absurd counts and lengths, bad alignment, types, offsets, encodings", async () => {
  const arch = kv("general.architecture", 8, gstr("llama"));
  const one = (kvs: Buffer[], infos: Buffer[], data = f32s(1, 2, 3, 4), tensors = infos.length) =>
    Buffer.concat([pad(Buffer.concat([header(3, tensors, kvs.length), ...kvs, ...infos]), 32), data]);
  const w = tinfo("w", [4], 0, 0);
  await refused(Buffer.from("GGML\x03\x00\x00\x00"), /not a GGUF file/);
  await refused(Buffer.concat([Buffer.from("GGUF"), Buffer.from([0, 0, 0, 3]), le64(0), le64(0)]), /big-endian/);
  await refused(Buffer.concat([header(1, 0, 0)]), /version 1 is not supported/);
  await refused(Buffer.concat([header(3, 2n ** 60n, 0)]), /tensor_count is 1152921504606846976, more than/);
  await refused(Buffer.concat([header(3, 0, 2n ** 62n)]), /metadata_kv_count .* more than/);
  await refused(Buffer.concat([header(3, 0, 1), le64(2n ** 63n), Buffer.alloc(32)]), /string length 9223372036854775808 runs past the end/);
  await refused(one([arch, kv("big", 9, Buffer.concat([le32(8), le64(2n ** 40n)]))], [w]), /big array length is 1099511627776, more than/);
  await refused(one([arch, kv("general.alignment", 4, le32(0))], [w]), /general.alignment is 0/);
  await refused(one([arch, kv("general.alignment", 4, le32(48))], [w]), /general.alignment is 48; it must be a power of two/);
  await refused(one([arch, kv("general.alignment", 8, gstr("32"))], [w]), /general.alignment must be a uint32/);
  await refused(one([arch, arch], [w]), /"general.architecture" appears twice/);
  await refused(one([arch, kv("x", 13, Buffer.alloc(8))], [w]), /x: unknown value type 13/);
  await refused(one([arch, kv("x", 9, Buffer.concat([le32(99), le64(1)]))], [w]), /x: unknown array element type 99/);
  await refused(one([arch, kv("x", 7, u8(2))], [w]), /x: a bool must be 0 or 1/);
  await refused(one([arch, kv("x", 8, gstr(Buffer.from([0xc3, 0x28])))], [w]), /x: not valid UTF-8/);
  let deep = Buffer.concat([le32(4), le64(0)]);
  for (let d = 0; d < 9; d++) deep = Buffer.concat([le32(9), le64(1), deep]);
  await refused(one([arch, kv("deep", 9, deep)], [w]), /nested deeper than 8/);
  await refused(one([arch], [tinfo("w", [4], 77, 0)]), /tensor "w" has unknown ggml type 77/);
  await refused(one([arch], [tinfo("w", [1, 1, 1, 1, 4], 0, 0)]), /has 5 dimensions; ggml allows at most 4/);
  await refused(one([arch], [tinfo("w", [2n ** 40n as unknown as number, 2n ** 40n as unknown as number], 0, 0)]), /overflows the element count/);
  await refused(one([arch], [tinfo("w", [4], 0, 8)]), /offset 8 is not a multiple of the alignment 32/);
  await refused(one([arch], [tinfo("w", [4], 0, 64)]), /tensor "w" \[64, 80\) is out of range/);
  await refused(one([arch], [tinfo("w", [40], 8, 0)]), /rows of 40 values do not fill whole Q8_0 blocks of 32/);
  await refused(one([arch], [w, tinfo("v", [2], 0, 0)]), /tensors "w" and "v" overlap|tensors "v" and "w" overlap/);
  await refused(one([arch], [w, w]), /tensor "w" appears twice/);
  await refused(one([arch], [tinfo("x".repeat(64), [4], 0, 0)]), /longer than 63 bytes/);
  await refused(one([arch], [tinfo("w", [256], 12, 0)], Buffer.alloc(144)), /tensor "w" is Q4_K, which is not read here \(readable: F32, F16, BF16, Q8_0\)/);
});
