import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { writeAtomic } from "./atomic.js";
import { FileFormatError } from "./errors.js";
import { dequantize, ggmlTypeInfo, ggmlTypeName, READABLE_TYPES } from "./ggml-types.js";
import { assertLittleEndianHost, checkedNumel } from "./raw-tensor.js";
import { readFullySync } from "./read-fully.js";

// GGUF (ggml's docs/gguf.md), version 2 and 3, little-endian: the magic "GGUF", u32 version, u64 tensor count, u64
// metadata count; the metadata as (string key, u32 value type, value); then per tensor its name, u32 dimension count,
// u64 dimensions (innermost first: ggml's ne, the reverse of PyTorch's shape), u32 ggml type and u64 offset into the
// data region; then zero padding to `general.alignment` (default 32) where the data region starts. Strings are a u64
// byte length and UTF-8 bytes without terminator. The file is untrusted: every count, length and offset is checked
// against the real file size before anything is allocated for it.

export enum GgufValueType {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7, STRING = 8, ARRAY = 9,
  UINT64 = 10, INT64 = 11, FLOAT64 = 12,
}

/** A metadata value: 64-bit integers beyond 2^53 stay bigint; arrays keep their element type. */
export type GgufValue = number | bigint | boolean | string | GgufArray;

export interface GgufArray {
  itemType: GgufValueType;
  items: GgufValue[];
}

export interface GgufEntry {
  type: GgufValueType;
  value: GgufValue;
}

export interface GgufTensorInfo {
  name: string;
  /** PyTorch order (outermost first). */
  shape: number[];
  /** ggml type id. */
  type: number;
  /** Relative to the data region. */
  offset: number;
  byteLength: number;
}

export interface GgufHeader {
  version: number;
  /** In file order. */
  metadata: Map<string, GgufEntry>;
  /** In file order. */
  tensors: GgufTensorInfo[];
  alignment: number;
  dataStart: number;
}

export interface GgufTensorOut {
  name: string;
  /** PyTorch order. */
  shape: number[];
  type: number;
  data: Uint8Array;
}

export const u32 = (v: number): GgufEntry => ({ type: GgufValueType.UINT32, value: v });
export const i32 = (v: number): GgufEntry => ({ type: GgufValueType.INT32, value: v });
export const f32 = (v: number): GgufEntry => ({ type: GgufValueType.FLOAT32, value: v });
export const str = (v: string): GgufEntry => ({ type: GgufValueType.STRING, value: v });
export const bool = (v: boolean): GgufEntry => ({ type: GgufValueType.BOOL, value: v });
export const array = (itemType: GgufValueType, items: GgufValue[]): GgufEntry => ({ type: GgufValueType.ARRAY, value: { itemType, items } });

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const DEFAULT_ALIGNMENT = 32;
// ggml's GGML_MAX_DIMS and GGML_MAX_NAME (64 bytes, terminator included).
const MAX_DIMS = 4;
const MAX_NAME_BYTES = 63;
const MAX_ARRAY_DEPTH = 8;
const SCALAR_BYTES: Partial<Record<GgufValueType, number>> = {
  [GgufValueType.UINT8]: 1, [GgufValueType.INT8]: 1, [GgufValueType.UINT16]: 2, [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4, [GgufValueType.INT32]: 4, [GgufValueType.FLOAT32]: 4, [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT64]: 8, [GgufValueType.INT64]: 8, [GgufValueType.FLOAT64]: 8,
};

/** True when the file starts with the GGUF magic. */
export function isGgufFile(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32LE(0) === MAGIC;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Reads and validates the header (metadata and tensor infos) without reading tensor data. */
export function readGgufHeader(path: string): GgufHeader {
  assertLittleEndianHost();
  const fd = openSync(path, "r");
  try {
    return parseHeader(new Cursor(fd, fstatSync(fd).size, path));
  } finally {
    closeSync(fd);
  }
}

/** The header and every tensor dequantised to float32 (PyTorch shapes), one tensor at a time. */
export function readGgufTensors(path: string, header: GgufHeader, onTensor: (info: GgufTensorInfo, values: Float32Array) => void): void {
  const fd = openSync(path, "r");
  try {
    for (const t of header.tensors) {
      if (!READABLE_TYPES.includes(ggmlTypeName(t.type))) {
        throw new FileFormatError(path, `tensor "${t.name}" is ${ggmlTypeName(t.type)}, which is not read here (readable: ${READABLE_TYPES.join(", ")}); re-quantise it to one of those with llama-quantize`);
      }
      const bytes = new Uint8Array(t.byteLength);
      readFullySync(fd, bytes, header.dataStart + t.offset, path);
      onTensor(t, dequantize(t.type, bytes, numelOf(t.shape))!);
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes a GGUF v3 file laid out as ggml writes one: metadata in the given order, tensor infos in the given order,
 *  each tensor's data at the next multiple of the alignment after the previous one, zero padding between. */
export async function writeGguf(path: string, metadata: Iterable<[string, GgufEntry]>, tensors: GgufTensorOut[]): Promise<void> {
  assertLittleEndianHost();
  const meta = new Map(metadata);
  const alignEntry = meta.get("general.alignment");
  const alignment = alignEntry ? Number(alignEntry.value) : DEFAULT_ALIGNMENT;
  const w = new Writer();
  w.u32(MAGIC).u32(3).u64(tensors.length).u64(meta.size);
  for (const [key, entry] of meta) {
    w.string(key).u32(entry.type);
    w.value(entry.type, entry.value, key);
  }
  let offset = 0;
  for (const t of tensors) {
    const info = ggmlTypeInfo(t.type);
    const n = numelOf(t.shape);
    if (!info || n === undefined || t.data.byteLength !== (n / info.blockSize) * info.typeSize) {
      throw new Error(`cannot save ${path}: tensor "${t.name}" has ${t.data.byteLength} bytes for shape [${t.shape.join(", ")}] of ${ggmlTypeName(t.type)}`);
    }
    w.string(t.name).u32(t.shape.length);
    for (const d of [...t.shape].reverse()) w.u64(d);
    w.u32(t.type).u64(offset);
    offset = alignUp(offset + t.data.byteLength, alignment);
  }
  const head = w.bytes();
  await writeAtomic(path, async (fh) => {
    await fh.write(head);
    await fh.write(new Uint8Array(alignUp(head.length, alignment) - head.length));
    for (const t of tensors) {
      await fh.write(t.data);
      await fh.write(new Uint8Array(alignUp(t.data.byteLength, alignment) - t.data.byteLength));
    }
  });
}

function numelOf(shape: readonly number[]): number {
  return checkedNumel(shape)!;
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

function parseHeader(c: Cursor): GgufHeader {
  const magic = c.u32("magic");
  if (magic !== MAGIC) throw c.error(`not a GGUF file (starts with 0x${magic.toString(16).padStart(8, "0")}, not "GGUF")`);
  const version = c.u32("version");
  if (version === 0x03000000 || version === 0x02000000) throw c.error("big-endian GGUF files are not supported");
  if (version !== 2 && version !== 3) throw c.error(`GGUF version ${version} is not supported (versions 2 and 3 are)`);
  const tensorCount = c.count("tensor_count", 8 + 4 + 4 + 8);
  const kvCount = c.count("metadata_kv_count", 8 + 4 + 1);
  const metadata = new Map<string, GgufEntry>();
  for (let i = 0; i < kvCount; i++) {
    const key = c.string(`metadata key ${i}`);
    if (metadata.has(key)) throw c.error(`metadata key "${key}" appears twice`);
    const type = c.u32(`type of ${key}`);
    metadata.set(key, { type, value: readValue(c, type, key, 0) });
  }
  const alignment = readAlignment(metadata, c);
  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) tensors.push(readTensorInfo(c, i, names));
  const dataStart = alignUp(c.pos, alignment);
  checkTensorData(tensors, alignment, c.size - dataStart, c);
  return { version, metadata, tensors, alignment, dataStart };
}

function readAlignment(metadata: Map<string, GgufEntry>, c: Cursor): number {
  const entry = metadata.get("general.alignment");
  if (!entry) return DEFAULT_ALIGNMENT;
  const a = entry.value;
  if (entry.type !== GgufValueType.UINT32) throw c.error(`general.alignment must be a uint32, not ${GgufValueType[entry.type]}`);
  // The spec asks for a multiple of 8; ggml also needs a power of two.
  if (typeof a !== "number" || a < 8 || (a & (a - 1)) !== 0) throw c.error(`general.alignment is ${String(a)}; it must be a power of two, at least 8`);
  return a;
}

function readValue(c: Cursor, type: number, key: string, depth: number): GgufValue {
  switch (type) {
    case GgufValueType.UINT8: return c.take(1, key).readUInt8(0);
    case GgufValueType.INT8: return c.take(1, key).readInt8(0);
    case GgufValueType.UINT16: return c.take(2, key).readUInt16LE(0);
    case GgufValueType.INT16: return c.take(2, key).readInt16LE(0);
    case GgufValueType.UINT32: return c.u32(key);
    case GgufValueType.INT32: return c.take(4, key).readInt32LE(0);
    case GgufValueType.FLOAT32: return c.take(4, key).readFloatLE(0);
    case GgufValueType.FLOAT64: return c.take(8, key).readDoubleLE(0);
    case GgufValueType.UINT64: return narrow(c.take(8, key).readBigUInt64LE(0));
    case GgufValueType.INT64: return narrow(c.take(8, key).readBigInt64LE(0));
    case GgufValueType.BOOL: {
      const b = c.take(1, key).readUInt8(0);
      if (b > 1) throw c.error(`${key}: a bool must be 0 or 1, got ${b}`);
      return b === 1;
    }
    case GgufValueType.STRING: return c.string(key);
    case GgufValueType.ARRAY: {
      if (depth >= MAX_ARRAY_DEPTH) throw c.error(`${key}: arrays nested deeper than ${MAX_ARRAY_DEPTH}`);
      const itemType = c.u32(`${key} array type`);
      const minBytes = itemType === GgufValueType.STRING || itemType === GgufValueType.ARRAY ? 8 : SCALAR_BYTES[itemType as GgufValueType];
      if (minBytes === undefined) throw c.error(`${key}: unknown array element type ${itemType}`);
      const n = c.count(`${key} array length`, minBytes);
      const items: GgufValue[] = new Array(n);
      for (let i = 0; i < n; i++) items[i] = readValue(c, itemType, `${key}[${i}]`, depth + 1);
      return { itemType, items };
    }
    default:
      throw c.error(`${key}: unknown value type ${type}`);
  }
}

function narrow(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function readTensorInfo(c: Cursor, i: number, names: Set<string>): GgufTensorInfo {
  const name = c.string(`tensor ${i} name`);
  const where = `tensor "${name}"`;
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw c.error(`${where}: the name is longer than ${MAX_NAME_BYTES} bytes`);
  if (names.has(name)) throw c.error(`${where} appears twice`);
  names.add(name);
  const nDims = c.u32(`${where} n_dimensions`);
  if (nDims > MAX_DIMS) throw c.error(`${where} has ${nDims} dimensions; ggml allows at most ${MAX_DIMS}`);
  const ne: number[] = [];
  for (let d = 0; d < nDims; d++) {
    const v = c.take(8, `${where} dimension ${d}`).readBigUInt64LE(0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw c.error(`${where} dimension ${d} is ${v}, too large`);
    ne.push(Number(v));
  }
  const type = c.u32(`${where} type`);
  const info = ggmlTypeInfo(type);
  if (!info) throw c.error(`${where} has unknown ggml type ${type}`);
  const offset = c.take(8, `${where} offset`).readBigUInt64LE(0);
  const shape = [...ne].reverse();
  const n = checkedNumel(shape);
  if (n === undefined) throw c.error(`${where} shape [${shape.join(", ")}] overflows the element count`);
  if ((ne[0] ?? 1) % info.blockSize !== 0) throw c.error(`${where} rows of ${ne[0]} values do not fill whole ${info.name} blocks of ${info.blockSize}`);
  const byteLength = (n / info.blockSize) * info.typeSize;
  if (offset > BigInt(Number.MAX_SAFE_INTEGER) || !Number.isSafeInteger(byteLength)) throw c.error(`${where} offset ${offset} or size is too large`);
  return { name, shape, type, offset: Number(offset), byteLength };
}

function checkTensorData(tensors: GgufTensorInfo[], alignment: number, dataSize: number, c: Cursor): void {
  for (const t of tensors) {
    const where = `tensor "${t.name}"`;
    if (t.offset % alignment !== 0) throw c.error(`${where} offset ${t.offset} is not a multiple of the alignment ${alignment}`);
    if (t.offset + t.byteLength > dataSize) {
      throw c.error(`${where} [${t.offset}, ${t.offset + t.byteLength}) is out of range: the data region holds ${Math.max(0, dataSize)} bytes (truncated file?)`);
    }
  }
  const byOffset = tensors.filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const [a, b] = [byOffset[i - 1]!, byOffset[i]!];
    if (b.offset < a.offset + a.byteLength) throw c.error(`tensors "${a.name}" and "${b.name}" overlap in the data region`);
  }
}

/** Sequential reads through the header, buffered, with every length checked against what is left of the file. */
class Cursor {
  pos = 0;
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  private static readonly CHUNK = 1 << 20;
  private static readonly decoder = new TextDecoder("utf-8", { fatal: true });

  constructor(private readonly fd: number, readonly size: number, private readonly path: string) {}

  error(problem: string): FileFormatError {
    return new FileFormatError(this.path, `invalid GGUF: ${problem}`);
  }

  take(n: number, what: string): Buffer {
    if (n > this.size - this.pos) throw this.error(`${what}: needs ${n} bytes at byte ${this.pos}, past the end of the file (${this.size} bytes)`);
    const end = this.pos + n;
    if (this.pos < this.bufStart || end > this.bufStart + this.buf.length) {
      this.bufStart = this.pos;
      this.buf = Buffer.alloc(Math.min(Math.max(n, Cursor.CHUNK), this.size - this.pos));
      readFullySync(this.fd, this.buf, this.pos, this.path);
    }
    const out = this.buf.subarray(this.pos - this.bufStart, end - this.bufStart);
    this.pos = end;
    return out;
  }

  u32(what: string): number {
    return this.take(4, what).readUInt32LE(0);
  }

  /** A u64 count of items of at least `minItemBytes` each, refused when the rest of the file cannot hold them. */
  count(what: string, minItemBytes: number): number {
    const n = this.take(8, what).readBigUInt64LE(0);
    if (n * BigInt(minItemBytes) > BigInt(this.size - this.pos)) throw this.error(`${what} is ${n}, more than the ${this.size - this.pos} bytes left can hold`);
    return Number(n);
  }

  string(what: string): string {
    const n = this.take(8, `${what} length`).readBigUInt64LE(0);
    if (n > BigInt(this.size - this.pos)) throw this.error(`${what}: string length ${n} runs past the end of the file`);
    const bytes = this.take(Number(n), what);
    try {
      return Cursor.decoder.decode(bytes);
    } catch {
      throw this.error(`${what}: not valid UTF-8`);
    }
  }
}

class Writer {
  private parts: Buffer[] = [];

  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.parts.push(b);
    return this;
  }

  u64(v: number | bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.parts.push(b);
    return this;
  }

  string(s: string): this {
    const bytes = Buffer.from(s, "utf8");
    this.u64(bytes.length);
    this.parts.push(bytes);
    return this;
  }

  value(type: GgufValueType, v: GgufValue, key: string): void {
    const bad = () => new Error(`GGUF metadata ${key}: ${JSON.stringify(typeof v === "bigint" ? String(v) : v)} is not a ${GgufValueType[type]}`);
    if (type === GgufValueType.ARRAY) {
      if (typeof v !== "object") throw bad();
      this.u32(v.itemType).u64(v.items.length);
      for (const item of v.items) this.value(v.itemType, item, key);
      return;
    }
    if (type === GgufValueType.STRING) {
      if (typeof v !== "string") throw bad();
      this.string(v);
      return;
    }
    const size = SCALAR_BYTES[type];
    if (size === undefined || typeof v === "object" || typeof v === "string") throw bad();
    const b = Buffer.alloc(size);
    switch (type) {
      case GgufValueType.UINT8: b.writeUInt8(Number(v)); break;
      case GgufValueType.INT8: b.writeInt8(Number(v)); break;
      case GgufValueType.UINT16: b.writeUInt16LE(Number(v)); break;
      case GgufValueType.INT16: b.writeInt16LE(Number(v)); break;
      case GgufValueType.UINT32: b.writeUInt32LE(Number(v)); break;
      case GgufValueType.INT32: b.writeInt32LE(Number(v)); break;
      case GgufValueType.FLOAT32: b.writeFloatLE(Number(v)); break;
      case GgufValueType.FLOAT64: b.writeDoubleLE(Number(v)); break;
      case GgufValueType.UINT64: b.writeBigUInt64LE(BigInt(v)); break;
      case GgufValueType.INT64: b.writeBigInt64LE(BigInt(v)); break;
      case GgufValueType.BOOL: b.writeUInt8(v ? 1 : 0); break;
    }
    this.parts.push(b);
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const INTEGER_TYPES = new Set([
  GgufValueType.UINT8, GgufValueType.INT8, GgufValueType.UINT16, GgufValueType.INT16, GgufValueType.UINT32,
  GgufValueType.INT32, GgufValueType.UINT64, GgufValueType.INT64,
]);
const NUMBER_TYPES = new Set([...INTEGER_TYPES, GgufValueType.FLOAT32, GgufValueType.FLOAT64]);

/** Typed reads of a header's metadata; a value of the wrong type is an error naming the file and key. */
export class GgufMetadata {
  constructor(readonly header: GgufHeader, readonly file: string) {}

  has(key: string): boolean {
    return this.header.metadata.has(key);
  }

  error(key: string, problem: string): FileFormatError {
    return new FileFormatError(this.file, `GGUF metadata ${key} ${problem}`);
  }

  /** A number (any integer or float type); `integer` also refuses fractions. */
  number(key: string, opts: { integer?: boolean; required: true }): number;
  number(key: string, opts?: { integer?: boolean; required?: boolean }): number | undefined;
  number(key: string, opts: { integer?: boolean; required?: boolean } = {}): number | undefined {
    const e = this.entry(key, opts.required);
    if (!e) return undefined;
    const ok = (opts.integer ? INTEGER_TYPES : NUMBER_TYPES).has(e.type) && typeof e.value === "number";
    if (!ok) throw this.error(key, `must be ${opts.integer ? "an integer" : "a number"}, not ${describe(e)}`);
    return e.value as number;
  }

  string(key: string): string | undefined {
    const e = this.entry(key, false);
    if (!e) return undefined;
    if (e.type !== GgufValueType.STRING) throw this.error(key, `must be a string, not ${describe(e)}`);
    return e.value as string;
  }

  bool(key: string): boolean | undefined {
    const e = this.entry(key, false);
    if (!e) return undefined;
    if (e.type !== GgufValueType.BOOL) throw this.error(key, `must be a bool, not ${describe(e)}`);
    return e.value as boolean;
  }

  strings(key: string): string[] | undefined {
    return this.array(key, (t) => t === GgufValueType.STRING, "strings") as string[] | undefined;
  }

  numbers(key: string): number[] | undefined {
    const items = this.array(key, (t) => NUMBER_TYPES.has(t), "numbers");
    if (items?.some((v) => typeof v !== "number")) throw this.error(key, "holds integers too large to use");
    return items as number[] | undefined;
  }

  private array(key: string, ok: (t: GgufValueType) => boolean, what: string): GgufValue[] | undefined {
    const e = this.entry(key, false);
    if (!e) return undefined;
    if (e.type !== GgufValueType.ARRAY || !ok((e.value as GgufArray).itemType)) throw this.error(key, `must be an array of ${what}, not ${describe(e)}`);
    return (e.value as GgufArray).items;
  }

  private entry(key: string, required = false): GgufEntry | undefined {
    const e = this.header.metadata.get(key);
    if (!e && required) throw this.error(key, "is missing");
    return e;
  }
}

function describe(e: GgufEntry): string {
  return e.type === GgufValueType.ARRAY ? `an array of ${GgufValueType[(e.value as GgufArray).itemType]}` : `a ${GgufValueType[e.type] ?? "value"}`;
}
