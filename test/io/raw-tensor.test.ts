import assert from "node:assert/strict";
import { test } from "node:test";
import { fromFloat32, toFloat32, toInt32 } from "../../src/io/raw-tensor.js";

test("F16 bits convert to float32, including subnormals, infinities and NaN", () => {
  const bits = new Uint16Array([0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x7e00, 0x3555]);
  const f = toFloat32({ dtype: "F16", shape: [bits.length], data: bits });
  assert.deepEqual(Array.from(f.subarray(0, 9)), [0, -0, 1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, Infinity, -Infinity]);
  assert.ok(Number.isNaN(f[9]));
  assert.equal(f[10], Math.fround(0.333251953125));
});

test("F16 encoding rounds to nearest even and round-trips every finite half", () => {
  const all = new Uint16Array(0x10000).map((_, i) => i);
  const asFloat = toFloat32({ dtype: "F16", shape: [all.length], data: all });
  const back = fromFloat32(asFloat, [all.length], "F16").data as Uint16Array;
  for (let i = 0; i < all.length; i++) {
    if ((i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0) continue; // NaN payloads are not preserved
    assert.equal(back[i], i, `half 0x${i.toString(16)}`);
  }
  const halfway = new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65520, 2 ** -25, 2 ** -25 * 1.5]);
  assert.deepEqual(fromFloat32(halfway, [5], "F16").data, new Uint16Array([0x3c00, 0x3c02, 0x7c00, 0x0000, 0x0001]));
});

test("BF16 converts both ways with round to nearest even", () => {
  const f = new Float32Array([1, -0.5, 1 + 2 ** -8, 1 + 3 * 2 ** -8, NaN]);
  const bits = fromFloat32(f, [5], "BF16").data as Uint16Array;
  assert.deepEqual(Array.from(bits.subarray(0, 4)), [0x3f80, 0xbf00, 0x3f80, 0x3f82]);
  const back = toFloat32({ dtype: "BF16", shape: [5], data: bits });
  assert.deepEqual(Array.from(back.subarray(0, 2)), [1, -0.5]);
  assert.ok(Number.isNaN(back[4]));
});

test("integer conversions and the int64 range check", () => {
  assert.deepEqual(toInt32({ dtype: "I64", shape: [2], data: new BigInt64Array([-5n, 2n ** 31n - 1n]) }), new Int32Array([-5, 2 ** 31 - 1]));
  assert.throws(() => toInt32({ dtype: "I64", shape: [1], data: new BigInt64Array([2n ** 31n]) }), /does not fit in int32/);
  assert.deepEqual(toInt32({ dtype: "BOOL", shape: [2], data: new Uint8Array([1, 0]) }), new Int32Array([1, 0]));
  assert.throws(() => toInt32({ dtype: "F32", shape: [1], data: new Float32Array(1) }), /cannot convert F32/);
  assert.deepEqual(toFloat32({ dtype: "I64", shape: [1], data: new BigInt64Array([-3n]) }), new Float32Array([-3]));
  assert.deepEqual(toFloat32({ dtype: "U8", shape: [1], data: new Uint8Array([200]) }), new Float32Array([200]));
  assert.deepEqual(toFloat32({ dtype: "F64", shape: [1], data: new Float64Array([0.1]) }), new Float32Array([0.1]));
});
