// The fused kernels behind the performance work (native/attention.c, native/fused.c) against their
// TypeScript references, and gradient checks of the autograd ops built on them.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { AttentionArgs, Backend, DropoutSpec } from "../src/backend/backend.js";
import { loadNativeBackend } from "../src/backend/native.js";
import { typescriptBackend as ts } from "../src/backend/typescript.js";
import {
  Generator, add, addLayerNorm, addLinear, dropout, dropoutSpec, gelu, layerNorm, linear, linearGelu, noGrad, randn, scale,
  scaledDotProductAttention, tensor,
} from "../src/tensor/index.js";
import { gradcheck, randn64 } from "./helpers/gradcheck.js";
import { seededInputs } from "./helpers/random.js";

const native = loadNativeBackend();

const { randomArray } = seededInputs(777);

/** |a - e| <= rtol * (|e| + rms(expected)). */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let sq = 0;
  for (let i = 0; i < expected.length; i++) sq += expected[i] ** 2;
  const floor = Math.sqrt(sq / Math.max(expected.length, 1));
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= rtol * (Math.abs(expected[i]) + floor),
      `${what}[${i}]: native ${actual[i]}, typescript ${expected[i]}`);
  }
}

const DROP: DropoutSpec = { threshold: Math.round(0.3 * 2 ** 32), scale: 1 / 0.7, seed0: 0x12345678, seed1: 0x9abcdef0 };
const NO_DROP: DropoutSpec = { threshold: 0, scale: 1, seed0: 0, seed1: 0 };

test("dropout masks are identical on both backends and drop about p of the elements", () => {
  const n = 100_003, x = randomArray(n);
  const yn = new Float32Array(n), yt = new Float32Array(n);
  native.dropout(x, yn, n, DROP);
  ts.dropout(x, yt, n, DROP);
  assert.deepEqual(yn, yt);
  const dropped = yn.reduce((c, v) => c + (v === 0 ? 1 : 0), 0) / n;
  assert.ok(Math.abs(dropped - 0.3) < 0.01, `dropped ${dropped}`);
  const other = new Float32Array(n);
  native.dropout(x, other, n, { ...DROP, seed1: DROP.seed1 + 1 });
  let same = 0;
  for (let i = 0; i < n; i++) if ((other[i] === 0) === (yn[i] === 0)) same++;
  assert.ok(same / n < 0.7, "another seed gives an unrelated mask");
  native.dropout(x, x, n, DROP); // in place
  assert.deepEqual(x, yn);
});

test("add, mul and sumRows match the TypeScript backend", () => {
  const n = 70_001, a = randomArray(n), b = randomArray(n);
  for (const op of ["add", "mul"] as const) {
    const out = new Float32Array(n), ref = new Float32Array(n);
    native[op](a, b, out, n);
    ts[op](a, b, ref, n);
    assert.deepEqual(out, ref, op);
    const alias = a.slice();
    native[op](alias, b, alias, n); // in place
    assert.deepEqual(alias, ref, `${op} in place`);
  }
  for (const [rows, cols] of [[1024, 300], [3, 5], [17, 1]]) {
    const x = randomArray(rows * cols), sn = randomArray(cols), st = sn.slice();
    native.sumRows(x, sn, rows, cols);
    ts.sumRows(x, st, rows, cols);
    assertClose(sn, st, `sumRows ${rows}x${cols}`);
  }
});

test("biasGeluForward and addLayerNormForward match the TypeScript backend, in place and without a kept sum", () => {
  for (const [rows, cols] of [[64, 3072], [3, 5], [17, 1]]) {
    const bias = randomArray(cols);
    for (const approximate of [false, true]) {
      const x = randomArray(rows * cols, 3), xt = x.slice(), y = new Float32Array(rows * cols), yt = y.slice();
      native.biasGeluForward(x, bias, y, rows, cols, approximate);
      ts.biasGeluForward(xt, bias, yt, rows, cols, approximate);
      assertClose(x, xt, `biasGelu pre ${rows}x${cols}`);
      assertClose(y, yt, `biasGelu ${rows}x${cols} approximate ${approximate}`);
      const inPlace = randomArray(rows * cols, 3), inPlaceTs = inPlace.slice();
      native.biasGeluForward(inPlace, bias, inPlace, rows, cols, approximate);
      ts.biasGeluForward(inPlaceTs, bias, inPlaceTs, rows, cols, approximate);
      assertClose(inPlace, inPlaceTs, `biasGelu in place ${rows}x${cols}`);
    }
    const a = randomArray(rows * cols, 2), b = randomArray(rows * cols), w = randomArray(cols), bb = randomArray(cols);
    const run = (be: Backend, keep: boolean) => {
      const y = new Float32Array(rows * cols), sum = keep ? new Float32Array(rows * cols) : null;
      const mean = new Float32Array(rows), rstd = new Float32Array(rows);
      be.addLayerNormForward(a, b, w, bb, y, sum, mean, rstd, rows, cols, 1e-5);
      return { y, sum, mean, rstd };
    };
    const ref = run(ts, true);
    for (const keep of [true, false]) {
      const n = run(native, keep);
      assertClose(n.y, ref.y, `addLayerNorm ${rows}x${cols} keep ${keep}`);
      assertClose(n.mean, ref.mean, "addLayerNorm mean");
      assertClose(n.rstd, ref.rstd, "addLayerNorm rstd");
      if (keep) assert.deepEqual(n.sum, ref.sum);
    }
  }
});

interface AttnCase { batch: number; heads: number; queries: number; keys: number; dim: number; headsInner: boolean;
  maskRows: 0 | 1 | "queries"; dropout: DropoutSpec }

function attentionArgs(c: AttnCase): AttentionArgs {
  const rows = c.maskRows === "queries" ? c.queries : 1;
  const mask = c.maskRows === 0 ? null : Float32Array.from({ length: c.batch * rows * c.keys },
    (_, i) => (i % 5 === 3 ? -3.4028234663852886e38 : 0));
  return {
    q: randomArray(c.batch * c.heads * c.queries * c.dim, 2), k: randomArray(c.batch * c.heads * c.keys * c.dim, 2),
    v: randomArray(c.batch * c.heads * c.keys * c.dim), batch: c.batch, heads: c.heads, queries: c.queries,
    keys: c.keys, kvRows: c.keys, dim: c.dim, headsInner: c.headsInner, scale: 1 / Math.sqrt(c.dim), mask, maskRows: rows,
    probs: new Float32Array(c.batch * c.heads * c.queries * c.keys), dropout: c.dropout,
  };
}

function runAttention(b: Backend, a: AttentionArgs, dout: Float32Array, needs: [boolean, boolean, boolean]) {
  const args = { ...a, probs: a.probs!.slice() };
  const out = new Float32Array(a.q.length);
  b.attentionForward(args, out);
  const grads = needs.map((need, i) => (need ? new Float32Array(i === 0 ? a.q.length : a.k.length).fill(NaN) : null));
  b.attentionBackward(args, dout, grads[0], grads[1], grads[2]);
  return { out, probs: args.probs, grads };
}

test("fused attention forward and backward match the TypeScript backend", () => {
  const cases: AttnCase[] = [
    { batch: 2, heads: 3, queries: 7, keys: 7, dim: 5, headsInner: true, maskRows: 1, dropout: NO_DROP },
    { batch: 2, heads: 3, queries: 7, keys: 11, dim: 5, headsInner: true, maskRows: 1, dropout: DROP },
    { batch: 3, heads: 2, queries: 9, keys: 13, dim: 8, headsInner: false, maskRows: "queries", dropout: DROP },
    { batch: 1, heads: 4, queries: 5, keys: 5, dim: 16, headsInner: false, maskRows: 0, dropout: NO_DROP },
    // Big enough for the builtin GEMM to block and for the pool to split (batch, head) pairs.
    { batch: 4, heads: 12, queries: 70, keys: 90, dim: 64, headsInner: true, maskRows: 1, dropout: DROP },
    // At most 4 queries (a generation step) without dropout: the native kernel's direct form, no GEMM; a head size
    // that is not a multiple of its 8 lanes. With dropout, the GEMM form again.
    { batch: 2, heads: 3, queries: 1, keys: 37, dim: 64, headsInner: false, maskRows: "queries", dropout: NO_DROP },
    { batch: 1, heads: 2, queries: 3, keys: 20, dim: 13, headsInner: true, maskRows: 1, dropout: NO_DROP },
    { batch: 2, heads: 2, queries: 2, keys: 9, dim: 8, headsInner: false, maskRows: 1, dropout: DROP },
  ];
  for (const c of cases) {
    const a = attentionArgs(c), dout = randomArray(a.q.length);
    const label = `attention ${JSON.stringify({ ...c, dropout: c.dropout.threshold > 0 })}`;
    for (const needs of [[true, true, true], [true, false, true], [false, true, false]] as [boolean, boolean, boolean][]) {
      const n = runAttention(native, a, dout, needs), t = runAttention(ts, a, dout, needs);
      assertClose(n.out, t.out, `${label} out`);
      assertClose(n.probs, t.probs, `${label} probs`);
      n.grads.forEach((g, i) => {
        if (!g) return assert.equal(t.grads[i], null);
        assertClose(g, t.grads[i]!, `${label} d${"qkv"[i]} needs ${needs}`, 2e-5);
      });
    }
  }
});

test("attention without probs (inference) gives the output of the forward that keeps them, on both backends", () => {
  const cases: AttnCase[] = [
    { batch: 2, heads: 3, queries: 7, keys: 11, dim: 5, headsInner: true, maskRows: 1, dropout: NO_DROP },
    // More queries than the native kernel's 128-row block, so scores exist for one block at a time.
    { batch: 2, heads: 2, queries: 300, keys: 150, dim: 16, headsInner: false, maskRows: "queries", dropout: NO_DROP },
    { batch: 1, heads: 2, queries: 260, keys: 260, dim: 8, headsInner: true, maskRows: 1, dropout: DROP },
    { batch: 2, heads: 12, queries: 1, keys: 130, dim: 64, headsInner: false, maskRows: "queries", dropout: NO_DROP },
  ];
  for (const c of cases) {
    const a = attentionArgs(c), label = `attention ${JSON.stringify({ ...c, dropout: c.dropout.threshold > 0 })}`;
    const kept = new Float32Array(a.q.length);
    ts.attentionForward(a, kept);
    for (const [name, b] of [["native", native], ["typescript", ts]] as const) {
      const out = new Float32Array(a.q.length);
      b.attentionForward({ ...a, probs: null }, out);
      assertClose(out, kept, `${label} ${name} without probs`);
    }
  }
  assert.throws(() => native.attentionBackward({ ...attentionArgs(cases[0]), probs: null }, new Float32Array(210), null, null, null),
    { name: "TypeError" });
});

test("fused attention matches the composed softmax(q·kᵀ·scale + mask)·v", () => {
  const c: AttnCase = { batch: 2, heads: 2, queries: 4, keys: 6, dim: 3, headsInner: false, maskRows: 1, dropout: NO_DROP };
  const a = attentionArgs(c), out = new Float32Array(a.q.length);
  native.attentionForward(a, out);
  for (let b = 0; b < 2; b++) for (let h = 0; h < 2; h++) for (let i = 0; i < 4; i++) {
    const qo = ((b * 2 + h) * 4 + i) * 3, s: number[] = [];
    for (let j = 0; j < 6; j++) {
      let d = 0;
      for (let t = 0; t < 3; t++) d += a.q[qo + t] * a.k[((b * 2 + h) * 6 + j) * 3 + t];
      s.push(d * a.scale + a.mask![b * 6 + j]);
    }
    const mx = Math.max(...s), e = s.map((v) => Math.exp(v - mx)), z = e.reduce((p, v) => p + v, 0);
    for (let t = 0; t < 3; t++) {
      let o = 0;
      for (let j = 0; j < 6; j++) o += (e[j] / z) * a.v[((b * 2 + h) * 6 + j) * 3 + t];
      assert.ok(Math.abs(out[qo + t] - o) < 1e-5, `out[${qo + t}] ${out[qo + t]} vs ${o}`);
    }
  }
});

test("gradcheck: scaledDotProductAttention in both layouts, with mask and dropout", () => {
  const gen = () => new Generator(5); // the same dropout mask on every evaluation
  const mask = { data: Float32Array.from([0, 0, -1e9, 0, 0, 0, 0, -1e9, 0, 0]), rows: 1 };
  gradcheck("attention bhsd", (q, k, v) => scaledDotProductAttention(q, k, v,
    { layout: "bhsd", scale: 0.4, mask, dropoutP: 0.25, training: true, generator: gen() }),
  [randn64([2, 2, 3, 4]), randn64([2, 2, 5, 4]), randn64([2, 2, 5, 4])]);
  gradcheck("attention bshd", (q, k, v) => scaledDotProductAttention(q, k, v,
    { layout: "bshd", heads: 2, scale: 0.5, mask, dropoutP: 0.2, training: true, generator: gen() }),
  [randn64([2, 3, 6]), randn64([2, 5, 6]), randn64([2, 5, 6], false)]);
});

test("gradcheck: dropout with a fixed generator; eval and p = 0 are the identity", () => {
  gradcheck("dropout", (x) => dropout(x, 0.3, true, new Generator(9)), [randn64([4, 7])]);
  const x = tensor([1, 2, 3]);
  assert.equal(dropout(x, 0.3, false), x);
  assert.equal(dropout(x, 0, true), x);
  assert.throws(() => dropoutSpec(1), /\[0, 1\)/);
});

test("gradcheck: linearGelu, addLinear and addLayerNorm", () => {
  for (const approximate of [false, true]) {
    gradcheck(`linearGelu approximate ${approximate}`, (x, w, b) => linearGelu(x, w, b, approximate),
      [randn64([2, 3, 4]), randn64([5, 4]), randn64([5])]);
    gradcheck(`linearGelu, Conv1D weight [in, out], approximate ${approximate}`,
      (x, w, b) => linearGelu(x, w, b, approximate, true), [randn64([2, 3, 4]), randn64([4, 5]), randn64([5])]);
  }
  gradcheck("addLinear", (y, x, w) => addLinear(y, x, w, 1.5), [randn64([2, 3, 5]), randn64([2, 3, 4]), randn64([5, 4])]);
  gradcheck("addLayerNorm", (a, b, w, beta) => addLayerNorm(a, b, w, beta, 1e-5),
    [randn64([3, 6]), randn64([3, 6]), randn64([6]), randn64([6])]);
  gradcheck("addLayerNorm, one side frozen", (a, b, w, beta) => addLayerNorm(a, b, w, beta, 1e-5),
    [randn64([3, 6]), randn64([3, 6], false), randn64([6], false), randn64([6])]);
});

test("the fusions equal the ops they replace, with and without a graph", () => {
  const x = randn([4, 3, 16]), w = randn([40, 16]), b = randn([40]);
  const r = randn([4, 3, 40]), nw = randn([40]), nb = randn([40]);
  const composed = layerNorm(add(gelu(linear(x, w, b)), r), nw, nb, 1e-12).data;
  const lw = randn([40, 16]);
  assertClose(addLinear(r, x, lw, 2).data, add(r, scale(linear(x, lw, null), 2)).data, "addLinear", 1e-6);
  for (const record of [true, false]) {
    w.requiresGrad = record;
    const run = () => addLayerNorm(linearGelu(x, w, b), r, nw, nb, 1e-12).data;
    assertClose(record ? run() : noGrad(run), composed, `fused, graph ${record}`, 1e-6);
  }
  const wt = randn([16, 40]); // a Conv1D weight, [in, out]
  assertClose(noGrad(() => linearGelu(x, wt, b, true, true)).data, gelu(linear(x, wt, b, true), "tanh").data, "Conv1D linearGelu", 1e-6);
});

test("attention over the first keys of k and v's rows (a cache's spare rows after them) equals attention over those keys alone", () => {
  for (const queries of [1, 6]) {
    const c: AttnCase = { batch: 2, heads: 3, queries, keys: 7, dim: 8, headsInner: false, maskRows: "queries", dropout: NO_DROP };
    const compact = { ...attentionArgs(c), probs: null };
    const rows = 11, { batch, heads, keys, dim } = c;
    // The same keys with spare rows after each head's, filled with values that would show if read.
    const spread = (x: Float32Array) => {
      const out = new Float32Array(batch * heads * rows * dim).fill(1e6);
      for (let bh = 0; bh < batch * heads; bh++) out.set(x.subarray(bh * keys * dim, (bh + 1) * keys * dim), bh * rows * dim);
      return out;
    };
    const roomy = { ...compact, k: spread(compact.k as Float32Array), v: spread(compact.v as Float32Array), kvRows: rows };
    const expected = new Float32Array(batch * heads * queries * dim);
    ts.attentionForward(compact, expected);
    for (const be of [ts, native]) {
      const out = new Float32Array(expected.length);
      be.attentionForward(roomy, out);
      assertClose(out, expected, `${be.name} kvRows ${rows}, ${queries} queries`);
    }
    assert.throws(() => native.attentionForward({ ...roomy, kvRows: keys - 1 }, new Float32Array(expected.length)), /kvRows/);
  }
});
