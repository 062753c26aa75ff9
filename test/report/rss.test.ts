import assert from "node:assert/strict";
import { test } from "node:test";
import { settleMemory } from "../../src/report/rss.js";
import { acquireFloat32, releaseFloat32 } from "../../src/tensor/pool.js";

const MB = 2 ** 20;
const arrayBuffers = () => process.memoryUsage().arrayBuffers;

/** 128 MB handed back to the pool and 64 MB of garbage, from a frame that is gone when it returns (a live
 *  frame's stale slots could keep a buffer reachable). */
function leaveMemoryBehind(): void {
  const pooled = Array.from({ length: 4 }, () => acquireFloat32(8 * MB, false));
  for (const b of pooled) releaseFloat32(b);
  new Float32Array(16 * MB).fill(1);
}

test("settleMemory gives back the pool's buffers and garbage not yet collected, so the next method starts low", () => {
  const before = arrayBuffers();
  leaveMemoryBehind();
  assert.ok(arrayBuffers() > before + 150 * MB, `${(arrayBuffers() / MB).toFixed(0)} MB held before settling`);
  settleMemory();
  assert.ok(arrayBuffers() < before + 16 * MB, `${((arrayBuffers() - before) / MB).toFixed(0)} MB more than before`);
  const again = acquireFloat32(8 * MB); // the pool starts again empty and still hands out zeroed buffers
  assert.equal(again[123], 0);
});
