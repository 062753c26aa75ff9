// Recycled float32 buffers. A fresh large typed array costs a page fault per 4 KB on first touch (seen at
// ~20 ms per 12 MB here, more than the kernel that fills it), and a training step allocates hundreds of
// megabytes. Buffers autograd knows to be dead (consumed gradients, an op's private saved state) come back
// here, and the next allocation of a length in the same size class reuses one, zeroed. Everything else is
// left to the GC.
import type { FloatArray } from "../backend/backend.js";

/** Smaller buffers are cheap to allocate and not worth tracking. */
const MIN_ELEMENTS = 1 << 14;
/** Cap on pooled memory, so a burst of releases cannot pin much more than one step's gradients. */
const MAX_POOLED_BYTES = 1 << 30;

/** Free memory by capacity in elements. */
const free = new Map<number, ArrayBuffer[]>();
/** The one array the pool handed out over each of its buffers: only that array may give the buffer back, never
 *  a subarray of it (which may be shorter than its buffer like the pool's own arrays are). */
const handedOut = new WeakMap<ArrayBufferLike, Float32Array>();
let pooledBytes = 0;

/** The size class of a length: eight per power of two, so a length that varies a little from step to step (the
 *  rows a mask picks, e.g. masked-LM logits) still finds a free buffer; at most 1/8 of a buffer goes unused. */
function capacity(n: number): number {
  const step = 2 ** Math.max(0, Math.floor(Math.log2(n)) - 3);
  return Math.ceil(n / step) * step;
}

/** A new buffer, left unzeroed for a caller that overwrites every element: a DistilBERT-base training step
 *  allocates about 250 MB of fresh activations, and zeroing them was 1.5% of the step in memset on the main
 *  thread while the pool's threads waited. Buffer.allocUnsafe's backing store of this size is its own. */
function freshBuffer(bytes: number, zero: boolean): ArrayBuffer {
  return zero ? new ArrayBuffer(bytes) : (Buffer.allocUnsafe(bytes).buffer as ArrayBuffer);
}

/** FINETUNE_POISON_UNZEROED=1 fills every unzeroed buffer, and every buffer handed back, with NaN, so a kernel
 *  that reads an element it was supposed to write first, or a buffer released while still in use, shows up as
 *  NaN in a test instead of as values that happened to be there. */
const POISON = process.env.FINETUNE_POISON_UNZEROED === "1";

/** A Float32Array of n elements, recycled when a buffer of its size class is free: zeroed, or with `zero` false
 *  holding stale values for a caller that overwrites every element. */
export function acquireFloat32(n: number, zero = true): Float32Array {
  const b = n < MIN_ELEMENTS ? new Float32Array(n) : pooled(n, zero);
  return !zero && POISON ? b.fill(NaN) : b;
}

function pooled(n: number, zero: boolean): Float32Array {
  const cap = capacity(n), reused = free.get(cap)?.pop();
  if (reused) pooledBytes -= reused.byteLength;
  const b = new Float32Array(reused ?? freshBuffer(cap * 4, zero), 0, n);
  handedOut.set(b.buffer, b);
  return reused && zero ? b.fill(0) : b;
}

/** Forgets every pooled buffer, so the garbage collector can free them: for a caller between unrelated pieces of
 *  work (a comparison's methods) that wants their memory back. */
export function drainPool(): void {
  free.clear();
  pooledBytes = 0;
}

/** Hands back a buffer nothing references any more; the caller must be sure of that. Views into a larger
 *  buffer, float64 buffers and small ones are ignored. */
export function releaseFloat32(b: FloatArray | null): void {
  if (!(b instanceof Float32Array) || b.byteOffset !== 0) return;
  // Small buffers are not pooled, but poisoned all the same: the tests' tiny models have no others.
  if (b.length < MIN_ELEMENTS) {
    if (POISON && b.byteLength === b.buffer.byteLength) b.fill(NaN);
    return;
  }
  const whole = b.byteLength === b.buffer.byteLength && capacity(b.length) === b.length;
  if (handedOut.get(b.buffer) !== b && !whole) return;
  if (pooledBytes + b.buffer.byteLength > MAX_POOLED_BYTES || b.buffer instanceof SharedArrayBuffer) return;
  const cap = b.buffer.byteLength / 4;
  let list = free.get(cap);
  if (!list) free.set(cap, (list = []));
  if (list.includes(b.buffer)) return;
  handedOut.delete(b.buffer);
  if (POISON) b.fill(NaN);
  list.push(b.buffer);
  pooledBytes += b.buffer.byteLength;
}
