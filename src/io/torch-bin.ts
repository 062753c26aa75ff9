import { open } from "node:fs/promises";
import { FileFormatError } from "./errors.js";
import { PyTuple, unpickle, type AllowedGlobal } from "./pickle.js";
import {
  allocData,
  assertLittleEndianHost,
  checkedNumel,
  dataBytes,
  itemSize,
  type RawData,
  type RawTensor,
  type SafeDtype,
  type TensorFileContent,
} from "./raw-tensor.js";
import { ZipReader, type ZipEntry } from "./zip.js";

// torch.save (torch >= 1.6) writes a zip: <archive>/data.pkl holds the object tree, where every tensor is a call
// _rebuild_tensor_v2(storage, offset, size, stride, ...) and every storage a persistent id
// ("storage", torch.FloatStorage, key, location, numel) whose bytes are the entry <archive>/data/<key>.
// Only the globals below are accepted, the same set torch.load(weights_only=True) needs for a state dict.

class StorageType implements AllowedGlobal {
  constructor(
    readonly qualifiedName: string,
    /** undefined: UntypedStorage, counted in bytes; the tensor carries the dtype (_rebuild_tensor_v3). */
    readonly dtype: SafeDtype | undefined,
  ) {}
}

class TorchDtype implements AllowedGlobal {
  constructor(
    readonly qualifiedName: string,
    readonly dtype: SafeDtype,
  ) {}
}

class Storage {
  constructor(
    readonly entry: ZipEntry,
    readonly dtype: SafeDtype | undefined,
  ) {}
}

class TensorRef {
  constructor(
    readonly storage: Storage,
    readonly dtype: SafeDtype,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
    readonly numel: number,
    /** One past the last storage element the view touches. */
    readonly span: number,
  ) {}
}

const STORAGE_DTYPES: Record<string, SafeDtype> = {
  DoubleStorage: "F64",
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  LongStorage: "I64",
  IntStorage: "I32",
  ShortStorage: "I16",
  CharStorage: "I8",
  ByteStorage: "U8",
  BoolStorage: "BOOL",
};

const TORCH_DTYPES: Record<string, SafeDtype> = {
  float64: "F64",
  double: "F64",
  float32: "F32",
  float: "F32",
  float16: "F16",
  half: "F16",
  bfloat16: "BF16",
  int64: "I64",
  long: "I64",
  int32: "I32",
  int: "I32",
  int16: "I16",
  short: "I16",
  int8: "I8",
  uint8: "U8",
  bool: "BOOL",
};

/** Reads a torch.save'd state dict (pytorch_model.bin). */
export async function loadPytorchBin(path: string): Promise<TensorFileContent> {
  assertLittleEndianHost();
  await checkZipMagic(path);
  const zip = await ZipReader.open(path);
  try {
    const pkls = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (pkls.length !== 1) throw new FileFormatError(path, "not a torch.save archive: expected exactly one <archive>/data.pkl entry");
    const prefix = pkls[0]!.slice(0, -"data.pkl".length);
    const byteorder = zip.entries.get(`${prefix}byteorder`);
    if (byteorder) {
      const order = (await zip.read(byteorder)).toString("utf8").trim();
      if (order !== "little") throw new FileFormatError(path, `tensors are stored ${order}-endian; only little-endian is supported`);
    }
    const root = unpickle(await zip.read(zip.entries.get(pkls[0]!)!), torchHooks(zip, prefix, path));
    if (!(root instanceof Map)) throw new FileFormatError(path, "the checkpoint is not a dict of tensors (a state_dict)");
    const tensors = new Map<string, RawTensor>();
    for (const [name, value] of root) {
      if (typeof name === "string" && value instanceof TensorRef) tensors.set(name, await materialize(zip, value));
    }
    return { tensors, metadata: {} };
  } finally {
    await zip.close();
  }
}

async function checkZipMagic(path: string): Promise<void> {
  const fh = await open(path, "r");
  const magic = Buffer.alloc(4);
  try {
    await fh.read(magic, 0, 4, 0);
  } finally {
    await fh.close();
  }
  if (magic.readUInt32LE(0) === 0x04034b50) return;
  if (magic[0] === 0x80) {
    throw new FileFormatError(path, "legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with torch >= 1.6 or convert it to safetensors");
  }
  throw new FileFormatError(path, "not a PyTorch checkpoint (no zip signature)");
}

function torchHooks(zip: ZipReader, prefix: string, path: string) {
  const fail = (msg: string): never => {
    throw new FileFormatError(path, msg);
  };
  const globals = new Map<string, AllowedGlobal>();
  const add = (g: AllowedGlobal) => globals.set(g.qualifiedName, g);
  for (const [name, dtype] of Object.entries(STORAGE_DTYPES)) add(new StorageType(`torch.${name}`, dtype));
  for (const name of ["torch.UntypedStorage", "torch.storage.UntypedStorage"]) add(new StorageType(name, undefined));
  for (const [name, dtype] of Object.entries(TORCH_DTYPES)) add(new TorchDtype(`torch.${name}`, dtype));
  for (const name of ["torch.Tensor", "torch._tensor.Tensor", "torch.nn.parameter.Parameter"]) add({ qualifiedName: name });
  add({ qualifiedName: "collections.OrderedDict", call: orderedDict });
  add({ qualifiedName: "torch._utils._rebuild_tensor_v2", call: (a) => rebuildTensor(a, undefined) });
  add({ qualifiedName: "torch._utils._rebuild_tensor_v3", call: (a) => rebuildTensor(a, a[6]) });
  add({ qualifiedName: "torch._utils._rebuild_parameter", call: (a) => a[0] });
  add({ qualifiedName: "torch._utils._rebuild_parameter_with_state", call: (a) => a[0] });
  add({
    qualifiedName: "torch._tensor._rebuild_from_type_v2",
    call: ([fn, , args]) => {
      const f = fn as AllowedGlobal;
      if (typeof f?.call !== "function" || !(args instanceof PyTuple)) return fail("malformed _rebuild_from_type_v2 call");
      return f.call(args.items);
    },
  });

  const storages = new Map<string, Storage>();

  function orderedDict(args: unknown[]): Map<unknown, unknown> {
    const d = new Map<unknown, unknown>();
    const items = args[0];
    if (items === undefined) return d;
    if (!Array.isArray(items)) return fail("OrderedDict argument is not a list of pairs");
    for (const kv of items) {
      if (!(kv instanceof PyTuple) || kv.items.length !== 2) return fail("OrderedDict argument is not a list of pairs");
      d.set(kv.items[0], kv.items[1]);
    }
    return d;
  }

  function persistentLoad(pid: unknown): Storage {
    const items = pid instanceof PyTuple ? pid.items : [];
    const [tag, type, key, , count] = items;
    if (tag !== "storage" || !(type instanceof StorageType) || typeof key !== "string" || !isCount(count)) {
      return fail("unsupported persistent id (expected a torch storage reference)");
    }
    const cached = storages.get(key);
    if (cached) return cached;
    const entry = zip.entries.get(`${prefix}data/${key}`);
    if (!entry) return fail(`storage ${key} is missing from the archive`);
    const bytes = type.dtype ? count * itemSize(type.dtype) : count;
    if (entry.size !== bytes) fail(`storage ${key} holds ${entry.size} bytes, but its ${type.qualifiedName} of ${count} elements needs ${bytes}`);
    const storage = new Storage(entry, type.dtype);
    storages.set(key, storage);
    return storage;
  }

  function rebuildTensor(args: unknown[], dtypeArg: unknown): TensorRef {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof Storage)) return fail("tensor rebuilt from something that is not a storage");
    const dtype = dtypeArg instanceof TorchDtype ? dtypeArg.dtype : storage.dtype;
    if (!dtype) return fail("tensor over an untyped storage without a (supported) dtype");
    const shape = countTuple(size);
    const strides = countTuple(stride);
    if (!isCount(offset) || !shape || !strides || shape.length !== strides.length) return fail("tensor with a malformed offset, size or stride");
    const numel = checkedNumel(shape);
    if (numel === undefined) return fail(`tensor shape [${shape.join(", ")}] overflows`);
    let span = offset;
    if (numel > 0) {
      span += 1;
      for (let d = 0; d < shape.length; d++) span += (shape[d]! - 1) * strides[d]!;
    }
    // Only overlapping strides (expand: stride 0) make a view bigger than its data; cap what such a view may allocate.
    if (numel * itemSize(dtype) > zip.fileSize) fail(`tensor [${shape.join(", ")}] would expand to more bytes than the whole file; refusing`);
    const available = storage.entry.size / itemSize(dtype);
    if (!Number.isSafeInteger(span) || span > available) {
      fail(`tensor [${shape.join(", ")}] with offset ${offset} and stride [${strides.join(", ")}] reaches past its storage of ${available} elements`);
    }
    return new TensorRef(storage, dtype, offset, shape, strides, numel, span);
  }

  return {
    file: path,
    findGlobal: (module: string, name: string) => globals.get(`${module}.${name}`),
    persistentLoad,
  };
}

async function materialize(zip: ZipReader, t: TensorRef): Promise<RawTensor> {
  const data = allocData(t.dtype, t.numel);
  if (t.numel > 0) {
    const start = t.offset * itemSize(t.dtype);
    if (isContiguous(t.shape, t.stride)) {
      await zip.readInto(t.storage.entry, start, dataBytes(data));
    } else {
      const src = allocData(t.dtype, t.span - t.offset);
      await zip.readInto(t.storage.entry, start, dataBytes(src));
      gather(src, data, t.shape, t.stride);
    }
  }
  return { dtype: t.dtype, shape: t.shape, data };
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d]!;
  }
  return true;
}

/** Copies a strided view (transposed, sliced, expanded) into row-major order. */
function gather(src: RawData, dst: RawData, shape: number[], stride: number[]): void {
  const from = src as unknown as { [i: number]: number };
  const to = dst as unknown as { [i: number]: number };
  const index = new Array<number>(shape.length).fill(0);
  let s = 0;
  for (let i = 0; i < dst.length; i++) {
    to[i] = from[s]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      s += stride[d]!;
      index[d] = index[d]! + 1;
      if (index[d]! < shape[d]!) break;
      s -= stride[d]! * shape[d]!;
      index[d] = 0;
    }
  }
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function countTuple(v: unknown): number[] | undefined {
  if (!(v instanceof PyTuple) || !v.items.every(isCount)) return undefined;
  return v.items as number[];
}
