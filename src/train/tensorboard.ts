// TensorBoard event files without TensorFlow: each metric becomes a scalar summary in an Event protobuf, framed as a
// TFRecord (u64 length, masked CRC32C of the length, data, masked CRC32C of the data). Point `tensorboard --logdir`
// at the directory.
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Logger } from "./loggers.js";
import type { Metrics } from "./module.js";

export class TensorBoardLogger implements Logger {
  readonly file: string;
  private fd: number | null = null;

  constructor(readonly dir: string) {
    this.file = join(dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${hostname()}.${process.pid}`);
  }

  logMetrics(metrics: Metrics, step: number): void {
    if (this.fd === null) {
      mkdirSync(this.dir, { recursive: true });
      this.fd = openSync(this.file, "a");
      this.write(eventBytes(Date.now() / 1000, 0, { fileVersion: "brain.Event:2" }));
    }
    this.write(eventBytes(Date.now() / 1000, step, { scalars: Object.entries(metrics) }));
  }

  async finalize(): Promise<void> {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private write(data: Uint8Array): void {
    writeSync(this.fd!, tfRecord(data));
  }
}

/** One Event: wall_time (1, double), step (2, int64), file_version (3, string) or summary (5) of scalar values,
 *  each Summary.Value holding tag (1, string) and simple_value (2, float). */
export function eventBytes(wallTime: number, step: number, body: { fileVersion?: string; scalars?: [string, number][] }): Uint8Array {
  const w = new ProtoWriter();
  w.double(1, wallTime);
  w.varint(2, step);
  if (body.fileVersion) w.bytes(3, new TextEncoder().encode(body.fileVersion));
  if (body.scalars) {
    const summary = new ProtoWriter();
    for (const [tag, value] of body.scalars) {
      const v = new ProtoWriter();
      v.bytes(1, new TextEncoder().encode(tag));
      v.float(2, value);
      summary.bytes(1, v.finish());
    }
    w.bytes(5, summary.finish());
  }
  return w.finish();
}

export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), the checksum TFRecord uses. */
export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function maskedCrc32c(data: Uint8Array): number {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

class ProtoWriter {
  private parts: number[] = [];

  private tag(field: number, wire: number): void {
    this.raw((field << 3) | wire);
  }

  private raw(n: number): void {
    let v = BigInt(n);
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v) byte |= 0x80;
      this.parts.push(byte);
    } while (v);
  }

  varint(field: number, n: number): void {
    this.tag(field, 0);
    this.raw(n);
  }

  double(field: number, x: number): void {
    this.tag(field, 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, x, true);
    this.parts.push(...b);
  }

  float(field: number, x: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    this.parts.push(...b);
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.raw(data.length);
    this.parts.push(...data);
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}
