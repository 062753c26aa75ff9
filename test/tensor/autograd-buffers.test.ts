// Autograd's gradient buffers: one buffer handed to two inputs is shared until one of them needs a sum, and a
// consumed gradient passes through without a copy. The tensors are big enough (>= 2^14 elements) for the pool.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/tensor/index.js";
import { acquireFloat32 } from "../../src/tensor/pool.js";

const N = 1 << 15;

/** a + b whose backward gives the same buffer to both inputs, as addLayerNorm's does for a residual's summands. */
function sharedSum(a: T.Tensor, b: T.Tensor): T.Tensor {
  const out = new Float32Array(N);
  for (let i = 0; i < N; i++) out[i] = a.f[i] + b.f[i];
  return T.result(out, a.shape, "sharedSum", [a, b], (g) => [g, g]);
}

function leaf(): T.Tensor {
  return T.full([N], 0.5).setRequiresGrad();
}

function assertGrad(x: T.Tensor, expected: number): void {
  const g = x.grad!.f;
  assert.equal(g.length, N);
  for (let i = 0; i < N; i += 997) assert.equal(g[i], expected, `grad[${i}]`);
}

// u = 2x and v = 5x meet in sharedSum; u also feeds 3u. Each order of the backward pass must give every
// consumer its own sum: writing u's extra gradient into the buffer v shares would add 3 * 5 to x's gradient.
test("a shared gradient buffer: the other consumer's sum arrives before the share", () => {
  const x = leaf(), u = T.mul(x, 2), v = T.mul(x, 5);
  T.add(T.sum(sharedSum(u, v)), T.sum(T.mul(u, 3))).backward();
  assertGrad(x, 2 * (1 + 3) + 5);
});

test("a shared gradient buffer: the share is consumed before the other sum arrives", () => {
  const x = leaf(), u = T.mul(x, 2), v = T.mul(x, 5);
  T.add(T.sum(T.mul(u, 3)), T.sum(sharedSum(u, v))).backward();
  assertGrad(x, 2 * (1 + 3) + 5);
});

test("a shared gradient buffer: a sum arrives for each sharer while both still hold it", () => {
  const x = leaf(), u = T.mul(x, 2), v = T.mul(x, 5);
  T.add(T.sum(T.mul(v, 1)), T.add(T.sum(T.mul(u, 3)), T.sum(sharedSum(u, v)))).backward();
  assertGrad(x, 2 * (1 + 3) + 5 * (1 + 1));
});

test("a shared buffer reaching a leaf twice, and a passed-through one reaching two leaves", () => {
  const x = leaf();
  T.sum(sharedSum(x, x)).backward();
  assertGrad(x, 2);
  const a = leaf(), b = leaf();
  T.sum(T.reshape(T.add(a, b), [N / 2, 2])).backward();
  assertGrad(a, 1);
  assertGrad(b, 1);
  // The two leaves hold buffers of their own: scaling one (as gradient clipping does) leaves the other.
  a.grad!.f[0] = 7;
  assert.equal(b.grad!.f[0], 1);
});

test("the same graph twice gives the same gradients (recycled buffers start clean)", () => {
  const run = () => {
    const x = leaf(), u = T.mul(x, 2), v = T.mul(x, 5);
    T.add(T.sum(T.mul(v, 1)), T.add(T.sum(T.mul(u, 3)), T.sum(sharedSum(u, v)))).backward();
    return Float32Array.from(x.grad!.f);
  };
  const first = run();
  for (let k = 0; k < 3; k++) assert.deepEqual(run(), first);
});

// A module's own intermediates (releaseIntermediates in src/models/fused-layers.ts) go back to the pool once
// backward no longer needs them, where the next allocations of their size find them.
const nextBuffers = (count: number) => Array.from({ length: count }, () => acquireFloat32(N, false).buffer);

test("an intermediate marked for release after backward is recycled after its readers ran, once", () => {
  const x = leaf(), h = T.mul(x, 2), view = T.reshape(h, [N / 2, 2]);
  T.releaseAfterBackward(h);
  T.releaseAfterBackward(view); // shares h's buffer: it must go back once, not twice
  T.sum(T.mul(view, view)).backward();
  assertGrad(x, 8 * 0.5); // d/dx sum((2x)^2), read from h's buffer before it went back
  // Released when the reshape's node ran, h's buffer is next in line: x's gradient, or the next allocation.
  const inUse = [x.grad!.f.buffer, ...nextBuffers(8)];
  assert.ok(inUse.includes(h.data.buffer), "h's buffer went back to the pool");
  assert.equal(new Set(inUse).size, inUse.length, "no buffer handed out twice");
});

test("an intermediate no node produced (a frozen layer's output) is recycled at the end of the pass", () => {
  const x = leaf(), frozen = T.mul(T.full([N], 0.5), 3);
  T.releaseAfterBackward(frozen);
  T.sum(T.mul(frozen, x)).backward();
  assertGrad(x, 1.5);
  assert.ok([x.grad!.f.buffer, ...nextBuffers(8)].includes(frozen.data.buffer), "the frozen output's buffer went back to the pool");
});

test("an unmarked intermediate stays with its tensor", () => {
  const x = leaf(), h = T.mul(x, 2);
  T.sum(T.mul(h, h)).backward();
  assert.ok(![x.grad!.f.buffer, ...nextBuffers(8)].includes(h.data.buffer), "h's buffer stayed with h");
  assert.equal(h.f[0], 1);
});
