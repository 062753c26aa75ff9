// Autograd's gradient buffers: one buffer handed to two inputs is shared until one of them needs a sum, and a
// consumed gradient passes through without a copy. The tensors are big enough (>= 2^14 elements) for the pool.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/tensor/index.js";

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
