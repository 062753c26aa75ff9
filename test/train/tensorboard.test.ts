import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { TensorBoardLogger, crc32c } from "../../src/train/tensorboard.js";
import { tempDir } from "./helpers/setup.js";

const masked = (c: number) => ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;

/** Fields of one protobuf message: field number -> values (numbers for varint/fixed, bytes for length-delimited). */
function decode(buf: Uint8Array): Map<number, (number | Uint8Array)[]> {
  const out = new Map<number, (number | Uint8Array)[]>();
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let i = 0;
  const varint = () => { let v = 0, s = 0, b: number; do { b = buf[i++]; v += (b & 0x7f) * 2 ** s; s += 7; } while (b & 0x80); return v; };
  while (i < buf.length) {
    const key = varint(), field = key >>> 3, wire = key & 7;
    let value: number | Uint8Array;
    if (wire === 0) value = varint();
    else if (wire === 1) { value = view.getFloat64(i, true); i += 8; }
    else if (wire === 5) { value = view.getFloat32(i, true); i += 4; }
    else { const n = varint(); value = buf.subarray(i, i + n); i += n; }
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}

test("CRC-32C matches the standard check value", () => {
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
});

test("TensorBoardLogger writes TFRecord-framed Event protos with scalar summaries", async () => {
  const dir = await tempDir();
  const logger = new TensorBoardLogger(dir);
  logger.logMetrics({ train_loss: 0.5, epoch: 0 }, 10);
  logger.logMetrics({ val_acc: 0.75 }, 20);
  await logger.finalize();
  const [name] = await readdir(dir);
  assert.match(name, /^events\.out\.tfevents\.\d+\./);
  const file = new Uint8Array(await readFile(join(dir, name)));
  const view = new DataView(file.buffer);
  const events: Map<number, (number | Uint8Array)[]>[] = [];
  for (let off = 0; off < file.length;) {
    const len = Number(view.getBigUint64(off, true));
    assert.equal(view.getUint32(off + 8, true), masked(crc32c(file.subarray(off, off + 8))));
    const data = file.subarray(off + 12, off + 12 + len);
    assert.equal(view.getUint32(off + 12 + len, true), masked(crc32c(data)));
    events.push(decode(data));
    off += 16 + len;
  }
  assert.equal(events.length, 3);
  assert.equal(new TextDecoder().decode(events[0].get(3)![0] as Uint8Array), "brain.Event:2");
  assert.deepEqual(events.slice(1).map((e) => e.get(2)![0]), [10, 20]);
  const scalars = (e: Map<number, (number | Uint8Array)[]>) => decode(e.get(5)![0] as Uint8Array).get(1)!.map((v) => {
    const f = decode(v as Uint8Array);
    return [new TextDecoder().decode(f.get(1)![0] as Uint8Array), f.get(2)![0]];
  });
  assert.deepEqual(scalars(events[1]), [["train_loss", 0.5], ["epoch", 0]]);
  assert.deepEqual(scalars(events[2]), [["val_acc", 0.75]]);
  assert.ok(Math.abs((events[1].get(1)![0] as number) - Date.now() / 1000) < 3600, "wall time in seconds");
});
