import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { toFloat32, type RawTensor } from "../../src/io/raw-tensor.js";
import { loadPytorchBin } from "../../src/io/torch-bin.js";
import { ZipReader } from "../../src/io/zip.js";
import { tempDir } from "./fixtures.js";
import { TORCH_113_STATE_DICT } from "./torch-sample.js";
import { buildZip, pickleBytes, pyGlobal, pyStr, type ZipInput } from "./zip-writer.js";

const PROTO2 = [0x80, 2] as const;
const [MARK, TUPLE, TUPLE1, BINPERSID, BININT1, NEWFALSE, EMPTY_TUPLE, REDUCE, SETITEMS, STOP, EMPTY_DICT] = [
  0x28, 0x74, 0x85, 0x51, 0x4b, 0x89, 0x29, 0x52, 0x75, 0x2e, 0x7d,
];

let dir = "";
let cleanup = async () => {};
before(async () => {
  ({ dir, cleanup } = await tempDir("torch-bin"));
});
after(() => cleanup());

async function writeTemp(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

function values(t: RawTensor | undefined): unknown[] {
  assert.ok(t, "tensor missing");
  return Array.from(t.data as ArrayLike<unknown>);
}

async function assertTorchSample(path: string): Promise<void> {
  const { tensors } = await loadPytorchBin(path);
  const get = (name: string) => tensors.get(name);
  assert.equal(tensors.size, 17);
  assert.deepEqual(get("w")?.shape, [3, 4]);
  assert.deepEqual(values(get("w")), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.deepEqual(get("w_t")?.shape, [4, 3]);
  assert.deepEqual(values(get("w_t")), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
  assert.deepEqual(values(get("row")), [4, 5, 6, 7]);
  assert.deepEqual(values(get("col")), [2, 6, 10]);
  assert.deepEqual(values(get("f64")), [1.5, -2.25]);
  assert.equal(get("f16")?.dtype, "F16");
  assert.deepEqual(Array.from(toFloat32(get("f16")!)), [1, -2, 65504]);
  assert.equal(get("bf16")?.dtype, "BF16");
  assert.deepEqual(Array.from(toFloat32(get("bf16")!)), [1, -0.5]);
  assert.deepEqual(values(get("i64")), [-(2n ** 40n), 7n]);
  assert.deepEqual(get("i32"), { dtype: "I32", shape: [2, 1], data: new Int32Array([-1, 5]) });
  assert.deepEqual(values(get("i16")), [-300]);
  assert.deepEqual(values(get("i8")), [-128, 127]);
  assert.deepEqual(get("u8"), { dtype: "U8", shape: [1], data: new Uint8Array([255]) });
  assert.deepEqual(get("bool"), { dtype: "BOOL", shape: [3], data: new Uint8Array([1, 0, 1]) });
  assert.deepEqual(get("scalar"), { dtype: "F32", shape: [], data: new Float32Array([3.25]) });
  assert.deepEqual(get("empty"), { dtype: "F32", shape: [0, 3], data: new Float32Array(0) });
  assert.deepEqual(values(get("param")), [0.5, 0.25]);
  assert.deepEqual(get("expanded")?.shape, [3, 2]);
  assert.deepEqual(values(get("expanded")), [1, 2, 1, 2, 1, 2]);
}

test("reads a state dict written by torch 1.13 (stored entries)", async () => {
  await assertTorchSample(await writeTemp("pytorch_model.bin", TORCH_113_STATE_DICT));
});

test("reads the same archive with DEFLATE entries", async () => {
  const original = await writeTemp("stored.bin", TORCH_113_STATE_DICT);
  const zip = await ZipReader.open(original);
  const inputs: ZipInput[] = [];
  try {
    for (const entry of zip.entries.values()) inputs.push({ name: entry.name, data: await zip.read(entry), deflate: true });
  } finally {
    await zip.close();
  }
  await assertTorchSample(await writeTemp("deflated.bin", buildZip(inputs)));
});

/** `archive/data.pkl` = dict {name: tensor} built from the given pickle fragments, plus storages. */
function archive(pkl: Uint8Array, storages: Record<string, Uint8Array>, extra: ZipInput[] = []): Buffer {
  return buildZip([
    { name: "archive/data.pkl", data: pkl },
    ...extra,
    ...Object.entries(storages).map(([key, data]) => ({ name: `archive/data/${key}`, data })),
  ]);
}

const storageRef = (type: [string, string], key: string, numel: number) =>
  pickleBytes(MARK, pyStr("storage"), pyGlobal(...type), pyStr(key), pyStr("cpu"), BININT1, numel, TUPLE, BINPERSID);
const emptyHooks = pickleBytes(pyGlobal("collections", "OrderedDict"), EMPTY_TUPLE, REDUCE);
const f32Bytes = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

test("reads the torch 2.x forms: _rebuild_tensor_v3 over UntypedStorage, _rebuild_from_type_v2, STACK_GLOBAL", async () => {
  const pkl = pickleBytes(
    ...PROTO2,
    EMPTY_DICT,
    MARK,
    pyStr("a"),
    pyGlobal("torch._utils", "_rebuild_tensor_v3"),
    MARK,
    storageRef(["torch", "UntypedStorage"], "0", 8),
    BININT1, 0, BININT1, 2, TUPLE1, BININT1, 1, TUPLE1, NEWFALSE, emptyHooks, pyGlobal("torch", "float32"),
    TUPLE,
    REDUCE,
    pyStr("b"),
    pyStr("torch._tensor"), pyStr("_rebuild_from_type_v2"), 0x93, // STACK_GLOBAL
    MARK,
    pyGlobal("torch._utils", "_rebuild_tensor_v2"),
    pyGlobal("torch.nn.parameter", "Parameter"),
    MARK,
    storageRef(["torch", "FloatStorage"], "1", 3),
    BININT1, 1, BININT1, 2, TUPLE1, BININT1, 1, TUPLE1, NEWFALSE, emptyHooks, EMPTY_DICT,
    TUPLE,
    EMPTY_DICT,
    TUPLE,
    REDUCE,
    SETITEMS,
    STOP,
  );
  const file = archive(pkl, { "0": f32Bytes(1.5, -3), "1": f32Bytes(7, 8, 9) }, [
    { name: "archive/byteorder", data: Buffer.from("little") },
    { name: "archive/.data/version", data: Buffer.from("3\n") },
  ]);
  const { tensors } = await loadPytorchBin(await writeTemp("torch2.bin", file));
  assert.deepEqual(tensors.get("a"), { dtype: "F32", shape: [2], data: new Float32Array([1.5, -3]) });
  assert.deepEqual(tensors.get("b"), { dtype: "F32", shape: [2], data: new Float32Array([8, 9]) });
});

async function assertRefused(name: string, bytes: Uint8Array, pattern: RegExp): Promise<void> {
  const path = await writeTemp(name, bytes);
  await assert.rejects(loadPytorchBin(path), (err: Error) => {
    assert.ok(err.message.startsWith(`${path}: `), `message should name the file: ${err.message}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test("malicious pickles are refused without executing anything", async () => {
  const marker = join(dir, "pwned");
  const attacks: [string, Buffer, RegExp][] = [
    ["os.system", pickleBytes(...PROTO2, pyGlobal("os", "system"), pyStr(`touch ${marker}`), TUPLE1, REDUCE, STOP), /global os\.system/],
    ["posix.system", pickleBytes(...PROTO2, pyGlobal("posix", "system"), pyStr(`touch ${marker}`), TUPLE1, REDUCE, STOP), /global posix\.system/],
    [
      "builtins.eval via STACK_GLOBAL",
      pickleBytes(0x80, 4, pyStr("builtins"), pyStr("eval"), 0x93, pyStr(`open("${marker}", "w")`), TUPLE1, REDUCE, STOP),
      /global builtins\.eval/,
    ],
  ];
  for (const [what, pkl, pattern] of attacks) {
    await assertRefused(`${what}.bin`, archive(pkl, {}), new RegExp(`${pattern.source}.*allow-list`));
    assert.equal(existsSync(marker), false, `${what} ran`);
  }
});

test("allowed value globals cannot be called", async () => {
  const pkl = pickleBytes(...PROTO2, pyGlobal("torch", "FloatStorage"), EMPTY_TUPLE, REDUCE, STOP);
  await assertRefused("call-storage.bin", archive(pkl, {}), /REDUCE of torch\.FloatStorage, which is not callable/);
});

/** BININT1 or BININT. */
function pyInt(n: number): Buffer {
  if (n < 256) return Buffer.from([BININT1, n]);
  const b = Buffer.alloc(5);
  b[0] = 0x4a;
  b.writeInt32LE(n, 1);
  return b;
}

function oneTensor(storageNumel: number, offset: number, size: number, stride: number): Buffer {
  return pickleBytes(
    ...PROTO2,
    EMPTY_DICT,
    pyStr("t"),
    pyGlobal("torch._utils", "_rebuild_tensor_v2"),
    MARK,
    storageRef(["torch", "FloatStorage"], "0", storageNumel),
    pyInt(offset), pyInt(size), TUPLE1, pyInt(stride), TUPLE1, NEWFALSE, emptyHooks,
    TUPLE,
    REDUCE,
    0x73, // SETITEM
    STOP,
  );
}

test("a view reaching past its storage is refused", async () => {
  await assertRefused("oob.bin", archive(oneTensor(3, 1, 3, 1), { "0": f32Bytes(1, 2, 3) }), /reaches past its storage of 3 elements/);
  await assertRefused("oob-stride.bin", archive(oneTensor(3, 0, 2, 3), { "0": f32Bytes(1, 2, 3) }), /reaches past its storage/);
});

test("an expanded view larger than the whole file is refused before allocating", async () => {
  await assertRefused("expand.bin", archive(oneTensor(1, 0, 2 ** 30, 0), { "0": f32Bytes(1) }), /would expand to more bytes than the whole file/);
});

test("storage size disagreeing with its entry, or missing, is refused", async () => {
  await assertRefused("short-storage.bin", archive(oneTensor(3, 0, 3, 1), { "0": f32Bytes(1, 2) }), /storage 0 holds 8 bytes.*needs 12/);
  await assertRefused("no-storage.bin", archive(oneTensor(3, 0, 3, 1), {}), /storage 0 is missing/);
});

test("big-endian archives are refused", async () => {
  const file = archive(oneTensor(1, 0, 1, 1), { "0": f32Bytes(1) }, [{ name: "archive/byteorder", data: Buffer.from("big") }]);
  await assertRefused("big.bin", file, /big-endian/);
});

test("a truncated pickle is refused", async () => {
  await assertRefused("truncated.bin", archive(oneTensor(1, 0, 1, 1).subarray(0, 40), { "0": f32Bytes(1) }), /pickle: truncated/);
});

test("legacy (non-zip) torch.save files and other files get a clear message", async () => {
  const legacy = pickleBytes(0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e);
  await assertRefused("legacy.bin", legacy, /legacy \(pre-1\.6, non-zip\) torch\.save format is not supported/);
  await assertRefused("text.bin", Buffer.from("hello world"), /not a PyTorch checkpoint/);
});

test("zip bombs and broken archives are refused before allocating", async () => {
  const zip = buildZip([{ name: "archive/data.pkl", data: Buffer.alloc(100), deflate: true }]);
  const cd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  zip.writeUInt32LE(0xfffffff0, cd + 24); // claimed uncompressed size
  await assertRefused("bomb.bin", zip, /impossible \d+-byte expansion/);
  await assertRefused("no-eocd.bin", TORCH_113_STATE_DICT.subarray(0, 2000), /no end of central directory/);
});
