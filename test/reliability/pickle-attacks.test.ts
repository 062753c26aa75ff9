// Checklist item 2: a pytorch_model.bin is a pickle, i.e. a program. The restricted unpickler (src/io/pickle.ts,
// src/io/torch-bin.ts) must refuse everything but rebuilding tensors, however the call is dressed up, and never run
// anything. Complements test/io/torch-bin.test.ts (os.system, posix.system, builtins.eval via STACK_GLOBAL).
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadPytorchBin } from "../../src/io/torch-bin.js";
import { AutoModelForCausalLM } from "../../src/models/index.js";
import { buildZip, pickleBytes, pyGlobal, pyStr } from "../io/zip-writer.js";
import { FIXTURES, assertNamesFile, rejection, tempDir } from "./helpers/common.js";

// Opcodes
const PROTO2 = [0x80, 2] as const;
const MARK = 0x28, STOP = 0x2e, TUPLE = 0x74, TUPLE1 = 0x85, EMPTY_TUPLE = 0x29, EMPTY_DICT = 0x7d, REDUCE = 0x52, BUILD = 0x62;
const SETITEM = 0x73, BINPUT = 0x71, BINGET = 0x68, STACK_GLOBAL = 0x93, BININT1 = 0x4b, NEWFALSE = 0x89, BINPERSID = 0x51;

let dir = "";
let cleanup = async () => {};
before(async () => ({ dir, cleanup } = await tempDir("pickle")));
after(() => cleanup());

const marker = () => join(dir, "pwned");
const archive = (pkl: Uint8Array, storages: Record<string, Uint8Array> = {}) =>
  buildZip([{ name: "archive/data.pkl", data: pkl }, ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data }))]);
const storageRef = (key: string, numel: number) =>
  pickleBytes(MARK, pyStr("storage"), pyGlobal("torch", "FloatStorage"), pyStr(key), pyStr("cpu"), BININT1, numel, TUPLE, BINPERSID);
const emptyHooks = pickleBytes(pyGlobal("collections", "OrderedDict"), EMPTY_TUPLE, REDUCE);
/** "i" (INST) and "o" (OBJ) and friends take their arguments from the stack or the text; these pickles are complete. */
const shell = pyStr(`touch ${join("/tmp", "never")}`);

async function refused(name: string, pkl: Buffer, pattern: RegExp, storages: Record<string, Uint8Array> = {}): Promise<void> {
  const path = join(dir, `${name.replace(/\W+/g, "-")}.bin`);
  await writeFile(path, archive(pkl, storages));
  const err = await rejection(loadPytorchBin(path));
  assertNamesFile(err, path, pattern);
  assert.equal(existsSync(marker()), false, `${name} ran something`);
}

test("a forbidden call nested inside the arguments of an allowed tensor rebuild is refused", async () => {
  // _rebuild_tensor_v2((os.system("touch pwned"), ...)): the inner GLOBAL is resolved first and refused.
  const pkl = pickleBytes(
    ...PROTO2, EMPTY_DICT, pyStr("t"), pyGlobal("torch._utils", "_rebuild_tensor_v2"),
    MARK, pyGlobal("os", "system"), pyStr(`touch ${marker()}`), TUPLE1, REDUCE, BININT1, 0, TUPLE, REDUCE, SETITEM, STOP,
  );
  await refused("nested-reduce", pkl, /refusing to load global os\.system.*allow-list/);
});

test("_rebuild_from_type_v2 cannot be used to call something that is not an allowed function", async () => {
  // The "function" argument is an allowed value global (a storage type), which is not callable.
  const pkl = pickleBytes(
    ...PROTO2, pyGlobal("torch._tensor", "_rebuild_from_type_v2"),
    MARK, pyGlobal("torch", "FloatStorage"), pyGlobal("torch", "Tensor"), EMPTY_TUPLE, EMPTY_DICT, TUPLE, REDUCE, STOP,
  );
  await refused("rebuild-from-type", pkl, /malformed _rebuild_from_type_v2 call/);
});

test("REDUCE on anything but an allowed function is refused: value globals, memo tricks, strings, dicts", async () => {
  const cases: [string, Buffer, RegExp][] = [
    ["memoized value global", pickleBytes(...PROTO2, pyGlobal("torch", "float32"), BINPUT, 1, 0x30, BINGET, 1, EMPTY_TUPLE, REDUCE, STOP), /REDUCE of torch\.float32, which is not callable/],
    ["string as function", pickleBytes(...PROTO2, pyStr("os.system"), pyStr("id"), TUPLE1, REDUCE, STOP), /REDUCE of a non-global, which is not callable/],
    ["dict as function", pickleBytes(...PROTO2, EMPTY_DICT, EMPTY_TUPLE, REDUCE, STOP), /which is not callable/],
    ["non-tuple arguments", pickleBytes(...PROTO2, pyGlobal("collections", "OrderedDict"), EMPTY_DICT, REDUCE, STOP), /REDUCE arguments are not a tuple/],
  ];
  for (const [what, pkl, pattern] of cases) await refused(what, pkl, pattern);
});

test("BUILD never applies state: an attacker's __setstate__ payload on a dict or a tensor is inert", async () => {
  // BUILD(dict, {"__class__": ..., "__reduce__": ...}) loads as the plain dict; a GLOBAL inside the state is refused.
  const inert = pickleBytes(
    ...PROTO2, EMPTY_DICT, EMPTY_DICT, pyStr("__setstate__"), pyStr("os.system"), SETITEM, BUILD, STOP,
  );
  const path = join(dir, "build-inert.bin");
  await writeFile(path, archive(inert));
  const { tensors } = await loadPytorchBin(path);
  assert.equal(tensors.size, 0);
  const withGlobal = pickleBytes(...PROTO2, EMPTY_DICT, EMPTY_DICT, pyStr("x"), pyGlobal("subprocess", "Popen"), SETITEM, BUILD, STOP);
  await refused("build-global", withGlobal, /global subprocess\.Popen/);
  // BUILD on a rebuilt tensor (torch writes this for tensors with Python attributes): the tensor loads unchanged.
  const tensor = pickleBytes(
    ...PROTO2, EMPTY_DICT, pyStr("t"), pyGlobal("torch._utils", "_rebuild_tensor_v2"),
    MARK, storageRef("0", 2), BININT1, 0, BININT1, 2, TUPLE1, BININT1, 1, TUPLE1, NEWFALSE, emptyHooks, TUPLE, REDUCE,
    EMPTY_DICT, pyStr("__dict__"), pyStr("evil"), SETITEM, BUILD, SETITEM, STOP,
  );
  const tpath = join(dir, "build-tensor.bin");
  await writeFile(tpath, archive(tensor, { "0": new Uint8Array(new Float32Array([1, 2]).buffer) }));
  assert.deepEqual((await loadPytorchBin(tpath)).tensors.get("t"), { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) });
});

test("object-creating opcodes are refused: INST, OBJ, NEWOBJ, NEWOBJ_EX, EXT1/2/4, PERSID", async () => {
  const cases: [string, Buffer, RegExp][] = [
    ["INST", pickleBytes(...PROTO2, MARK, shell, Buffer.from("ios\nsystem\n"), STOP), /unsupported opcode 0x69/],
    ["OBJ", pickleBytes(...PROTO2, MARK, pyGlobal("collections", "OrderedDict"), 0x6f, STOP), /unsupported opcode 0x6f/],
    ["NEWOBJ", pickleBytes(...PROTO2, pyGlobal("collections", "OrderedDict"), EMPTY_TUPLE, 0x81, STOP), /unsupported opcode 0x81/],
    ["NEWOBJ_EX", pickleBytes(0x80, 4, pyGlobal("collections", "OrderedDict"), EMPTY_TUPLE, EMPTY_DICT, 0x92, STOP), /unsupported opcode 0x92/],
    ["EXT1", pickleBytes(...PROTO2, 0x82, 1, EMPTY_TUPLE, REDUCE, STOP), /unsupported opcode 0x82/],
    ["EXT2", pickleBytes(...PROTO2, 0x83, 1, 0, EMPTY_TUPLE, REDUCE, STOP), /unsupported opcode 0x83/],
    ["EXT4", pickleBytes(...PROTO2, 0x84, 1, 0, 0, 0, EMPTY_TUPLE, REDUCE, STOP), /unsupported opcode 0x84/],
    ["PERSID", pickleBytes(...PROTO2, Buffer.from("Pos.system\n"), STOP), /unsupported opcode 0x50/],
  ];
  for (const [what, pkl, pattern] of cases) await refused(what, pkl, pattern);
});

test("STACK_GLOBAL and GLOBAL with names outside the allow-list are refused, however they are spelled", async () => {
  const names: [string, string][] = [
    ["builtins", "getattr"], ["builtins", "__import__"], ["__builtin__", "eval"], ["os", "system"], ["subprocess", "check_output"],
    ["torch", "load"], ["torch.serialization", "load"], ["numpy.core.multiarray", "_reconstruct"], ["torch._utils", "_rebuild_tensor_v2 "],
    ["torch._utils", "_rebuild_tensor_v2.__globals__"], ["collections", "OrderedDict.__init__"], ["Torch", "FloatStorage"], ["torch._utils\nos", "system"],
  ];
  for (const [module, name] of names) {
    const viaStack = pickleBytes(0x80, 4, pyStr(module), pyStr(name), STACK_GLOBAL, EMPTY_TUPLE, REDUCE, STOP);
    await refused(`stack ${module} ${name}`, viaStack, /refusing to load global .* allow-list/s);
  }
  // STACK_GLOBAL needs two strings: a dict or an integer as the module name is malformed, not a lookup.
  await refused("stack-non-strings", pickleBytes(0x80, 4, EMPTY_DICT, pyStr("system"), STACK_GLOBAL, STOP), /STACK_GLOBAL needs two strings/);
});

test("a persistent id that is not a torch storage is refused", async () => {
  const pkl = pickleBytes(...PROTO2, MARK, pyStr("module"), pyStr("os"), pyStr("system"), TUPLE, BINPERSID, STOP);
  await refused("persid", pkl, /unsupported persistent id/);
});

test("from_pretrained on a folder whose pytorch_model.bin is malicious fails naming the file, running nothing", async () => {
  const model = join(dir, "evil-model");
  await mkdir(model);
  await copyFile(join(FIXTURES, "gpt2", "config.json"), join(model, "config.json"));
  const pkl = pickleBytes(...PROTO2, pyGlobal("os", "system"), pyStr(`touch ${marker()}`), TUPLE1, REDUCE, STOP);
  await writeFile(join(model, "pytorch_model.bin"), archive(pkl));
  const err = await rejection(AutoModelForCausalLM.fromPretrained(model));
  assertNamesFile(err, join(model, "pytorch_model.bin"), /refusing to load global os\.system/);
  assert.equal(existsSync(marker()), false);
});
