import assert from "node:assert/strict";
import { test } from "node:test";
import { acquireFloat32, releaseFloat32 } from "../../src/tensor/pool.js";

const N = 100_003; // not a size class: its buffer is longer than the array

test("a released buffer comes back zeroed for a nearby length of the same size class", () => {
  const a = acquireFloat32(N);
  assert.equal(a.length, N);
  a.fill(7);
  releaseFloat32(a);
  const b = acquireFloat32(N + 5);
  assert.equal(b.buffer, a.buffer);
  assert.equal(b.length, N + 5);
  assert.ok(b.every((v) => v === 0));
  releaseFloat32(b);
  const c = acquireFloat32(N - 5, false);
  assert.equal(c.buffer, a.buffer); // stale values allowed: the caller overwrites them
  releaseFloat32(c);
});

test("a subarray of a pooled array cannot give its buffer back", () => {
  const a = acquireFloat32(N);
  releaseFloat32(a.subarray(0, N - 1));
  const b = acquireFloat32(N);
  assert.notEqual(b.buffer, a.buffer);
  releaseFloat32(a);
  releaseFloat32(b);
});

test("a length far outside the class gets a buffer of its own", () => {
  const a = acquireFloat32(N);
  releaseFloat32(a);
  const b = acquireFloat32(2 * N);
  assert.notEqual(b.buffer, a.buffer);
  assert.equal(b.length, 2 * N);
});
