// Recycled float32 buffers. A fresh large typed array costs a page fault per 4 KB on first touch (seen at
// ~20 ms per 12 MB here, more than the kernel that fills it), and a training step allocates hundreds of
// megabytes. Buffers autograd knows to be dead (consumed gradients, an op's private saved state) come back
// here, and the next allocation of the same length reuses one, zeroed. Everything else is left to the GC.
import type { FloatArray } from "../backend/backend.js";

/** Smaller buffers are cheap to allocate and not worth tracking. */
const MIN_ELEMENTS = 1 << 14;
/** Cap on pooled memory, so a burst of releases cannot pin much more than one step's gradients. */
const MAX_POOLED_BYTES = 1 << 30;

const free = new Map<number, Float32Array[]>();
let pooledBytes = 0;

/** A Float32Array of n elements, recycled when one of that length is free: zeroed, or with `zero` false
 *  holding stale values for a caller that overwrites every element. */
export function acquireFloat32(n: number, zero = true): Float32Array {
  const b = n >= MIN_ELEMENTS ? free.get(n)?.pop() : undefined;
  if (!b) return new Float32Array(n);
  pooledBytes -= b.byteLength;
  return zero ? b.fill(0) : b;
}

/** Hands back a buffer nothing references any more; the caller must be sure of that. Views into a larger
 *  buffer, float64 buffers and small ones are ignored. */
export function releaseFloat32(b: FloatArray | null): void {
  if (!(b instanceof Float32Array) || b.length < MIN_ELEMENTS || b.byteOffset !== 0 || b.byteLength !== b.buffer.byteLength) return;
  if (pooledBytes + b.byteLength > MAX_POOLED_BYTES) return;
  let list = free.get(b.length);
  if (!list) free.set(b.length, (list = []));
  if (list.includes(b)) return;
  list.push(b);
  pooledBytes += b.byteLength;
}
