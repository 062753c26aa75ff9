import { closeSync, fstatSync, openSync } from "node:fs";
import { open } from "node:fs/promises";
import { writeAtomic } from "./atomic.js";
import { FileFormatError } from "./errors.js";
import {
  allocData,
  assertLittleEndianHost,
  checkedNumel,
  dataBytes,
  dataMatchesDtype,
  isSafeDtype,
  itemSize,
  type RawData,
  type RawTensor,
  type SafeDtype,
  type TensorFileContent,
} from "./raw-tensor.js";
import { readFully, readFullySync } from "./read-fully.js";

// Layout (https://github.com/huggingface/safetensors): u64 LE header length N, N bytes of JSON
// {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}, then the data region, with
// offsets relative to its start. The header is untrusted: every size is checked against the real file size before
// anything is allocated.

/** The limit the reference implementation uses; real headers are a few hundred KB. */
const MAX_HEADER_BYTES = 100_000_000;

export interface LoadSafetensorsOptions {
  /** Only tensors for which this returns true are read. */
  filter?: (name: string) => boolean;
  /** Read each tensor's bytes when its `data` is first used, not before returning. Loading a model copies one
   *  tensor at a time into the model and drops it, so the file is never held in memory whole beside the model
   *  (a bf16 checkpoint widened to float32 otherwise peaks at 1.5 times the model). The file must stay in
   *  place until every tensor is read. */
  lazy?: boolean;
}

interface HeaderEntry {
  name: string;
  dtype: SafeDtype;
  shape: number[];
  numel: number;
  begin: number;
  end: number;
}

interface ParsedHeader {
  entries: HeaderEntry[];
  metadata: Record<string, string>;
  dataStart: number;
}

export async function loadSafetensors(path: string, opts: LoadSafetensorsOptions = {}): Promise<TensorFileContent> {
  assertLittleEndianHost();
  const fh = await open(path, "r");
  try {
    const { size } = await fh.stat();
    const prefix = new Uint8Array(Math.min(8, size));
    await readFully(fh, prefix, 0, path);
    const headerLen = headerLength(prefix, size, path);
    const headerBytes = new Uint8Array(headerLen);
    await readFully(fh, headerBytes, 8, path);
    const header = parseHeader(headerBytes, size, path);
    const tensors = new Map<string, RawTensor>();
    for (const e of selected(header.entries, opts)) {
      if (opts.lazy) {
        tensors.set(e.name, lazyTensor(path, e, header.dataStart));
        continue;
      }
      const data = allocData(e.dtype, e.numel);
      await readFully(fh, dataBytes(data), header.dataStart + e.begin, path);
      tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
    }
    return { tensors, metadata: header.metadata };
  } finally {
    await fh.close();
  }
}

/** A tensor whose bytes are read from the file on first use of `data` (then kept with the tensor). */
function lazyTensor(path: string, e: HeaderEntry, dataStart: number): RawTensor {
  let data: RawData | undefined;
  return {
    dtype: e.dtype,
    shape: e.shape,
    get data(): RawData {
      if (data) return data;
      const fd = openSync(path, "r");
      try {
        const read = allocData(e.dtype, e.numel);
        readFullySync(fd, dataBytes(read), dataStart + e.begin, path);
        data = read;
        return data;
      } finally {
        closeSync(fd);
      }
    },
  };
}

export function loadSafetensorsSync(path: string, opts: LoadSafetensorsOptions = {}): TensorFileContent {
  assertLittleEndianHost();
  const fd = openSync(path, "r");
  try {
    const { size } = fstatSync(fd);
    const prefix = new Uint8Array(Math.min(8, size));
    readFullySync(fd, prefix, 0, path);
    const headerLen = headerLength(prefix, size, path);
    const headerBytes = new Uint8Array(headerLen);
    readFullySync(fd, headerBytes, 8, path);
    const header = parseHeader(headerBytes, size, path);
    const tensors = new Map<string, RawTensor>();
    for (const e of selected(header.entries, opts)) {
      const data = allocData(e.dtype, e.numel);
      readFullySync(fd, dataBytes(data), header.dataStart + e.begin, path);
      tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
    }
    return { tensors, metadata: header.metadata };
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes the exact layout of HF's safetensors: tensors contiguous in byte-wise sorted name order, header padded with
 * spaces to a multiple of 8, `__metadata__` first with `format: "pt"` (transformers refuses files without it).
 */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, RawTensor> | Map<string, RawTensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  assertLittleEndianHost();
  const items = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))];
  items.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const meta: Record<string, string> = { format: "pt", ...metadata };
  // Built by hand: JSON.stringify of an object would move integer-like tensor names ("0", "1") to the front.
  const parts = [`"__metadata__":{${Object.entries(meta).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(String(v))}`).join(",")}}`];
  let offset = 0;
  for (const [name, t] of items) {
    const byteLength = checkTensor(name, t, path);
    const info = JSON.stringify({ dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + byteLength] });
    parts.push(`${JSON.stringify(name)}:${info}`);
    offset += byteLength;
  }
  const json = Buffer.from(`{${parts.join(",")}}`);
  const padded = Buffer.alloc(json.length + ((8 - (json.length % 8)) % 8), " ");
  json.copy(padded);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(padded.length));
  await writeAtomic(path, async (fh) => {
    await fh.write(prefix);
    await fh.write(padded);
    for (const [, t] of items) if (t.data.byteLength > 0) await fh.write(dataBytes(t.data));
  });
}

function checkTensor(name: string, t: RawTensor, path: string): number {
  const problem = (msg: string) => new Error(`cannot save ${path}: tensor "${name}" ${msg}`);
  if (name === "__metadata__") throw problem("uses the reserved name __metadata__");
  if (!isSafeDtype(t.dtype)) throw problem(`has unknown dtype ${String(t.dtype)}`);
  if (!Array.isArray(t.shape)) throw problem("has no shape array");
  const n = checkedNumel(t.shape);
  if (n === undefined) throw problem(`has an invalid shape [${t.shape.join(", ")}]`);
  if (!dataMatchesDtype(t.data, t.dtype)) throw problem(`has ${t.data.constructor.name} data, which does not hold ${t.dtype}`);
  if (t.data.length !== n) throw problem(`has ${t.data.length} values for shape [${t.shape.join(", ")}]`);
  return t.data.byteLength;
}

function selected(entries: HeaderEntry[], opts: LoadSafetensorsOptions): HeaderEntry[] {
  const { filter } = opts;
  return filter ? entries.filter((e) => filter(e.name)) : entries;
}

function headerLength(prefix: Uint8Array, fileSize: number, path: string): number {
  if (fileSize < 8) throw new FileFormatError(path, `not a safetensors file: ${fileSize} bytes, shorter than the 8-byte header length`);
  const n = Buffer.from(prefix.buffer, prefix.byteOffset, 8).readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new FileFormatError(path, `safetensors header length ${n} is absurd (limit ${MAX_HEADER_BYTES} bytes); not a safetensors file or corrupt`);
  if (8n + n > BigInt(fileSize)) throw new FileFormatError(path, `safetensors header length ${n} is larger than the file (${fileSize} bytes); truncated or corrupt`);
  return Number(n);
}

function parseHeader(bytes: Uint8Array, fileSize: number, path: string): ParsedHeader {
  const fail = (msg: string): never => {
    throw new FileFormatError(path, `invalid safetensors header: ${msg}`);
  };
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    fail("not valid UTF-8");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    fail(`invalid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(json)) return fail("the JSON header is not an object");

  const dataStart = 8 + bytes.length;
  const dataSize = fileSize - dataStart;
  let metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, info] of Object.entries(json)) {
    if (name === "__metadata__") {
      if (!isPlainObject(info) || !Object.values(info).every((v) => typeof v === "string")) {
        fail("__metadata__ must map strings to strings");
      }
      metadata = info as Record<string, string>;
      continue;
    }
    const where = `tensor "${name}"`;
    if (!isPlainObject(info)) return fail(`${where} is not an object`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (!isSafeDtype(dtype)) return fail(`${where} has unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape)) return fail(`${where} has no shape array`);
    for (const d of shape) {
      if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) fail(`${where} has an invalid dimension ${JSON.stringify(d)} (must be a non-negative integer)`);
    }
    const n = checkedNumel(shape);
    if (n === undefined || !Number.isSafeInteger(n * itemSize(dtype))) return fail(`${where} shape [${shape.join(", ")}] overflows the element count`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      return fail(`${where} data_offsets must be two non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(`${where} data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataSize) fail(`${where} data_offsets [${begin}, ${end}] are out of range: the data region holds ${dataSize} bytes`);
    const expected = n * itemSize(dtype);
    if (end - begin !== expected) {
      fail(`${where} data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape [${shape.join(", ")}] of ${dtype} needs ${expected}`);
    }
    entries.push({ name, dtype, shape: shape as number[], numel: n, begin, end });
  }
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let last: HeaderEntry | undefined;
  for (const e of byOffset) {
    if (e.begin === e.end) continue;
    if (last && e.begin < last.end) fail(`tensors "${last.name}" [${last.begin}, ${last.end}] and "${e.name}" [${e.begin}, ${e.end}] overlap`);
    last = e;
  }
  return { entries, metadata, dataStart };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
