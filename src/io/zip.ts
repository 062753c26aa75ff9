import { open, type FileHandle } from "node:fs/promises";
import { inflateRawSync } from "node:zlib";
import { FileFormatError } from "./errors.js";
import { readFully } from "./read-fully.js";

// Minimal zip reader for torch.save archives: central directory (with ZIP64), STORED and DEFLATE entries. Stored
// entries are read straight from the file into the caller's buffer, so multi-GB checkpoints are never held twice.

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const STORED = 0;
const DEFLATE = 8;

export class ZipReader {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly fileSize: number,
    readonly entries: Map<string, ZipEntry>,
  ) {}

  static async open(path: string): Promise<ZipReader> {
    const fh = await open(path, "r");
    try {
      const { size } = await fh.stat();
      const entries = await readCentralDirectory(fh, size, path);
      return new ZipReader(path, fh, size, entries);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  /** The whole uncompressed entry. */
  async read(entry: ZipEntry): Promise<Buffer> {
    const out = Buffer.alloc(entry.size);
    await this.readInto(entry, 0, out);
    return out;
  }

  /** Fills `target` with the uncompressed bytes of `entry` starting at `offset`. */
  async readInto(entry: ZipEntry, offset: number, target: Uint8Array): Promise<void> {
    if (offset + target.length > entry.size) {
      throw new FileFormatError(this.path, `read past the end of zip entry ${entry.name}`);
    }
    const start = await this.dataStart(entry);
    if (entry.method === STORED) {
      await readFully(this.fh, target, start + offset, this.path);
      return;
    }
    const compressed = Buffer.alloc(entry.compressedSize);
    await readFully(this.fh, compressed, start, this.path);
    let inflated: Buffer;
    try {
      inflated = inflateRawSync(compressed, { maxOutputLength: Math.max(entry.size, 1) });
    } catch (err) {
      throw new FileFormatError(this.path, `zip entry ${entry.name} does not inflate: ${(err as Error).message}`);
    }
    if (inflated.length !== entry.size) {
      throw new FileFormatError(this.path, `zip entry ${entry.name} inflates to ${inflated.length} bytes, not the ${entry.size} its directory records`);
    }
    target.set(inflated.subarray(offset, offset + target.length));
  }

  private async dataStart(entry: ZipEntry): Promise<number> {
    const header = Buffer.alloc(30);
    await readFully(this.fh, header, entry.localHeaderOffset, this.path);
    if (header.readUInt32LE(0) !== LOCAL_SIG) throw new FileFormatError(this.path, `zip entry ${entry.name} has no local header`);
    const start = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    if (start + entry.compressedSize > this.fileSize) {
      throw new FileFormatError(this.path, `zip entry ${entry.name} extends past the end of the file`);
    }
    return start;
  }
}

async function readCentralDirectory(fh: FileHandle, fileSize: number, path: string): Promise<Map<string, ZipEntry>> {
  const fail = (msg: string): never => {
    throw new FileFormatError(path, `invalid zip archive: ${msg}`);
  };
  const tailLen = Math.min(fileSize, 22 + 0xffff);
  const tail = Buffer.alloc(tailLen);
  await readFully(fh, tail, fileSize - tailLen, path);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail("no end of central directory record");
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locatorPos = fileSize - tailLen + eocd - 20;
    if (locatorPos < 0) fail("ZIP64 locator missing");
    const locator = Buffer.alloc(20);
    await readFully(fh, locator, locatorPos, path);
    if (locator.readUInt32LE(0) !== ZIP64_LOCATOR_SIG) fail("ZIP64 locator missing");
    const z64Pos = safeNumber(locator.readBigUInt64LE(8), fail);
    if (z64Pos + 56 > fileSize) fail("ZIP64 end of central directory out of range");
    const z64 = Buffer.alloc(56);
    await readFully(fh, z64, z64Pos, path);
    if (z64.readUInt32LE(0) !== ZIP64_EOCD_SIG) fail("bad ZIP64 end of central directory");
    count = safeNumber(z64.readBigUInt64LE(32), fail);
    cdSize = safeNumber(z64.readBigUInt64LE(40), fail);
    cdOffset = safeNumber(z64.readBigUInt64LE(48), fail);
  }
  if (cdOffset + cdSize > fileSize) fail("central directory out of range");
  if (count * 46 > cdSize) fail(`${count} entries cannot fit in a ${cdSize}-byte central directory`);
  const cd = Buffer.alloc(cdSize);
  await readFully(fh, cd, cdOffset, path);

  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL_SIG) fail("truncated central directory");
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    let compressedSize = cd.readUInt32LE(p + 20);
    let size = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let localHeaderOffset = cd.readUInt32LE(p + 42);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > cd.length) fail("truncated central directory");
    const name = cd.toString("utf8", p + 46, p + 46 + nameLen);
    // ZIP64 extra field: the 64-bit values, in this order, of exactly the fields saturated at 0xffffffff.
    let x = p + 46 + nameLen;
    const extraEnd = x + extraLen;
    while (x + 4 <= extraEnd) {
      const id = cd.readUInt16LE(x);
      const len = cd.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        const next = (): number => {
          if (q + 8 > x + 4 + len) fail(`entry ${name} has a short ZIP64 field`);
          const v = safeNumber(cd.readBigUInt64LE(q), fail);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
      }
      x += 4 + len;
    }
    if (flags & 1) fail(`entry ${name} is encrypted`);
    if (method !== STORED && method !== DEFLATE) fail(`entry ${name} uses unsupported compression method ${method}`);
    if (method === STORED && compressedSize !== size) fail(`stored entry ${name} has different compressed and uncompressed sizes`);
    // Deflate cannot expand data more than ~1032:1, so a larger claim is a zip bomb; checked before allocating it.
    if (method === DEFLATE && size > compressedSize * 1032 + 64) fail(`entry ${name} claims an impossible ${size}-byte expansion of ${compressedSize} bytes`);
    if (localHeaderOffset + 30 + compressedSize > fileSize) fail(`entry ${name} extends past the end of the file`);
    entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
    p = end;
  }
  return entries;
}

function safeNumber(v: bigint, fail: (msg: string) => never): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`size ${v} out of range`);
  return Number(v);
}
