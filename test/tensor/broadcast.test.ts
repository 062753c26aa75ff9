import assert from "node:assert/strict";
import { test } from "node:test";
import * as T from "../../src/tensor/index.js";

// Values, not just gradients: gradcheck compares the analytic gradient with finite differences of the same
// forward, so a wrong index map would pass it.
test("broadcasting reads each input element where NumPy does", () => {
  const iota = (shape: number[]) => T.tensor(Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => i), { shape });
  // [4, 3] - [4, 1]: every row minus its own column value.
  assert.deepEqual([...T.sub(iota([4, 3]), iota([4, 1])).data], [0, 1, 2, 2, 3, 4, 4, 5, 6, 6, 7, 8]);
  // [2, 1, 3] * 10 + [4, 1]: out[i, j, k] = 10 a[i, 0, k] + b[j, 0].
  const out = T.add(T.mul(iota([2, 1, 3]), 10), iota([4, 1]));
  assert.deepEqual(out.shape, [2, 4, 3]);
  const expected: number[] = [];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 3; k++) expected.push(10 * (i * 3 + k) + j);
  assert.deepEqual([...out.data], expected);
});
