// Every native kernel against the TypeScript reference backend, on odd shapes, padded layouts and offsets.
// GEMM runs through the BLAS library (when one is found) and through every builtin micro-kernel this CPU
// supports, so CI checks the fallback even where OpenBLAS is installed. The addon must be built: loading
// it throws (and fails this file) with instructions otherwise.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import type { Backend, BatchedGemmArgs } from "../src/backend/backend.js";
import { loadNativeBackend, nativeInfo, useBuiltinGemm } from "../src/backend/native.js";
import { typescriptBackend as ts } from "../src/backend/typescript.js";
import { seededInputs } from "./helpers/random.js";

const native = loadNativeBackend();
const startInfo = nativeInfo();
const gemmVariants = [...(startInfo.blasLibrary ? ["blas"] : []), ...startInfo.builtinKernels];

const { rand, randomArray } = seededInputs(12345);

/** |a - e| <= rtol * (|e| + rms(expected)): relative, with a floor for entries that cancel to ~0. */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let sq = 0, finite = 0;
  for (let i = 0; i < expected.length; i++) if (Number.isFinite(expected[i])) { sq += expected[i] ** 2; finite++; }
  const floor = Math.sqrt(sq / Math.max(finite, 1));
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e))) continue;
    assert.ok(Math.abs(a - e) <= rtol * (Math.abs(e) + floor), `${what}[${i}]: native ${a}, typescript ${e}`);
  }
}

function withGemm(variant: string, f: () => void): void {
  useBuiltinGemm(variant === "blas" ? false : variant);
  try {
    f();
  } finally {
    useBuiltinGemm(startInfo.builtinKernel);
    if (startInfo.blas !== "builtin") useBuiltinGemm(false);
  }
}

interface GemmCase extends BatchedGemmArgs { label: string; expected: Float32Array }

/** A GEMM with padded leading dimensions and offsets; C's padding holds a sentinel that must survive. */
function gemmCase(transA: boolean, transB: boolean, m: number, n: number, k: number, opts: {
  beta?: number; alpha?: number; batch?: number; pad?: number; broadcast?: "a" | "b" | "c";
} = {}): GemmCase {
  const { beta = 0, alpha = 0.75, batch = 1, pad = 3, broadcast } = opts;
  const lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + 2 * pad, ldc = n + pad;
  const sizeA = (transA ? k : m) * lda, sizeB = (transB ? n : k) * ldb, sizeC = m * ldc + pad;
  const strideA = broadcast === "a" ? 0 : sizeA, strideB = broadcast === "b" ? 0 : sizeB;
  const strideC = broadcast === "c" ? 0 : sizeC;
  const aOffset = 11, bOffset = 5, cOffset = 13;
  const a = randomArray(aOffset + sizeA * (strideA ? batch : 1));
  const b = randomArray(bOffset + sizeB * (strideB ? batch : 1));
  const c = randomArray(cOffset + sizeC * (strideC ? batch : 1)).fill(7); // sentinel in the padding
  for (let t = 0; t < (strideC ? batch : 1); t++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) c[cOffset + t * strideC + i * ldc + j] = beta === 0 ? NaN : 2 * rand() - 1;
    }
  }
  const g = { transA, transB, m, n, k, alpha, beta, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc,
    batch, strideA, strideB, strideC };
  const expected = c.slice();
  ts.gemmBatched({ ...g, c: expected });
  const label = `${transA ? "t" : "n"}${transB ? "t" : "n"} ${m}x${k}x${n} batch ${batch} beta ${beta}` +
    (broadcast ? ` broadcast ${broadcast}` : "");
  return { ...g, label, expected };
}

function runGemm(g: GemmCase): Float32Array {
  const c = (g.c as Float32Array).slice();
  if (g.batch === 1 && !g.strideA) native.gemm({ ...g, c });
  else native.gemmBatched({ ...g, c });
  return c;
}

const combos: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];
const gemmCases: GemmCase[] = [];
for (const [ta, tb] of combos) {
  for (const beta of [0, 1]) gemmCases.push(gemmCase(ta, tb, 37, 29, 53, { beta }));
  // Crosses the builtin GEMM's MC = 192 block and is big enough to be split across threads.
  gemmCases.push(gemmCase(ta, tb, 300, 270, 520, { beta: 1, alpha: 1 }));
  gemmCases.push(gemmCase(ta, tb, 7, 5, 3, { beta: 0.5 }));
}
gemmCases.push(gemmCase(false, false, 5, 3100, 20)); // wider than the NC = 3072 slab
// Threaded: rows split over one shared packing of B, several slabs of both k and n; and a short A split by columns.
for (const [ta, tb] of combos) gemmCases.push(gemmCase(ta, tb, 70, 3100, 300, { beta: 1 }));
gemmCases.push(gemmCase(false, true, 40, 3100, 300));
gemmCases.push(gemmCase(false, true, 70, 3100, 1400, { beta: 1 })); // more of op(B) than one packing phase holds
gemmCases.push(gemmCase(true, false, 1, 1, 1));
for (const [ta, tb] of combos) gemmCases.push(gemmCase(ta, tb, 19, 23, 17, { batch: 5, beta: 1 }));
gemmCases.push(gemmCase(false, true, 64, 64, 32, { batch: 6 })); // one item per thread in the builtin GEMM
// An item reads A in place while one K block and at most 1 MB of packed op(B) do; past either, the blocked form.
gemmCases.push(gemmCase(true, false, 20, 40, 800, { batch: 2, beta: 1 }));
gemmCases.push(gemmCase(false, true, 10, 3100, 100, { batch: 2 }));
gemmCases.push(gemmCase(false, false, 33, 20, 9, { batch: 4, broadcast: "a" }));
gemmCases.push(gemmCase(false, true, 33, 20, 9, { batch: 4, broadcast: "b", beta: 1 }));
gemmCases.push(gemmCase(true, false, 12, 10, 8, { batch: 3, broadcast: "c", beta: 1 })); // accumulates into one C
// At most 4 rows: the unpacked form (native/gemv.c), over more columns than its 1024-column block, split across
// threads, k not a multiple of its 16 lanes; pad 0 reads A in place, padded or transposed A is copied first.
for (const [ta, tb] of combos) for (const m of [1, 2, 3, 4]) gemmCases.push(gemmCase(ta, tb, m, 2100, 83, { beta: m % 2 }));
for (const tb of [false, true]) gemmCases.push(gemmCase(false, tb, 1, 1037, 29, { pad: 0, beta: 0.5 }));
// op(B) = B up to 4,096 columns is split by B's rows (each thread sums its band into a partial C); wider, by columns.
gemmCases.push(gemmCase(false, false, 3, 700, 403, { beta: 0.5 }));
gemmCases.push(gemmCase(false, false, 2, 4500, 40, { beta: 1 }));
gemmCases.push(gemmCase(false, false, 6, 4, 0)); // k = 0: C = beta * C clears NaN
gemmCases.push(gemmCase(false, false, 6, 4, 5, { alpha: 0 }));
gemmCases.push(gemmCase(false, false, 0, 4, 5));

for (const variant of gemmVariants) {
  test(`gemm via ${variant} matches the TypeScript backend`, () => {
    withGemm(variant, () => {
      assert.equal(native.blas, variant === "blas" ? startInfo.blasLibrary : "builtin");
      for (const g of gemmCases) assertClose(runGemm(g), g.expected, `${variant} ${g.label}`);
    });
  });
}

test("gemm and the few-row form give the same results on 1 and 3 threads", () => {
  const before = native.threads();
  const cases = [gemmCases.find((c) => c.m === 300)!, gemmCases.find((c) => c.m === 3 && c.n === 700)!];
  try {
    for (const variant of gemmVariants) {
      withGemm(variant, () => {
        for (const threads of [1, 3]) {
          native.setThreads(threads);
          assert.equal(native.threads(), threads);
          for (const g of cases) assertClose(runGemm(g), g.expected, `${variant} ${g.label} on ${threads} threads`);
        }
      });
    }
  } finally {
    native.setThreads(before);
  }
});

test("gemm rejects Float64Array and out-of-range layouts", () => {
  const g = gemmCase(false, false, 4, 4, 4);
  assert.throws(() => native.gemm({ ...g, a: new Float64Array(g.a.length) }), {
    name: "TypeError", message: /a must be a Float32Array, got Float64Array/,
  });
  assert.throws(() => native.gemm({ ...g, aOffset: g.a.length - 3 }), { name: "RangeError", message: /a has/ });
  assert.throws(() => native.gemm({ ...g, lda: 3 }), { name: "RangeError", message: /lda must be at least 4/ });
  assert.throws(() => native.gemmBatched({ ...g, c: (g.c as Float32Array).slice(), batch: 2 }), RangeError);
  assert.throws(() => native.softmaxForward(new Float64Array(6), new Float64Array(6), 2, 3), TypeError);
  assert.throws(() => native.softmaxForward(new Float32Array(5), new Float32Array(6), 2, 3), RangeError);
});

/** Runs a kernel on both backends, each on its own copy of the output arrays; returns [native, typescript]. */
function both(outputs: Float32Array[], run: (b: Backend, ...out: Float32Array[]) => void): [Float32Array[], Float32Array[]] {
  const forTs = outputs.map((x) => x.slice());
  run(native, ...outputs);
  run(ts, ...forTs);
  return [outputs, forTs];
}

// 37 x 53 stays on one thread; 300 x 257 is split across the pool.
const rowShapes: [number, number][] = [[37, 53], [300, 257], [1, 1]];

test("softmax forward and backward, including in place and masked entries", () => {
  for (const [rows, cols] of rowShapes) {
    const x = randomArray(rows * cols, 6);
    if (cols > 2) for (let r = 0; r < rows; r += 2) x[r * cols + 1] = -Infinity;
    const [yn, yt] = both([x.slice(), new Float32Array(rows * cols)],
      (b, xx, y) => b.softmaxForward(xx, y, rows, cols));
    assertClose(yn[1], yt[1], `softmax ${rows}x${cols}`);
    const inPlace = x.slice();
    native.softmaxForward(inPlace, inPlace, rows, cols);
    assertClose(inPlace, yt[1], `softmax in place ${rows}x${cols}`);

    const dy = randomArray(rows * cols);
    const [bn, bt] = both([yt[1].slice(), dy.slice(), new Float32Array(rows * cols)],
      (b, y, d, dx) => b.softmaxBackward(y, d, dx, rows, cols));
    assertClose(bn[2], bt[2], `softmax backward ${rows}x${cols}`);
    const alias = dy.slice();
    native.softmaxBackward(yt[1], alias, alias, rows, cols);
    assertClose(alias, bt[2], `softmax backward in place ${rows}x${cols}`);
  }
});

test("layer norm forward and backward, with and without affine parameters", () => {
  // Not cols = 1: there dx is exactly 0 and any rounding, amplified by rstd = 1/sqrt(eps), fails a relative test.
  for (const [rows, cols] of [[37, 53], [300, 257], [2, 3]]) {
    for (const affine of [true, false]) {
      const x = randomArray(rows * cols, 3).map((v, i) => v + (i % 7)); // a nonzero mean per row
      const w = affine ? randomArray(cols, 2) : null, bias = affine ? randomArray(cols) : null;
      const [fn, ft] = both([x.slice(), new Float32Array(rows * cols), new Float32Array(rows),
        new Float32Array(rows)],
      (b, xx, y, mean, rstd) => b.layerNormForward(xx, w, bias, y, mean, rstd, rows, cols, 1e-5));
      const label = `layernorm ${rows}x${cols} affine ${affine}`;
      assertClose(fn[1], ft[1], `${label} y`);
      assertClose(fn[2], ft[2], `${label} mean`);
      assertClose(fn[3], ft[3], `${label} rstd`);

      const dy = randomArray(rows * cols);
      const init = Float32Array.from({ length: cols }, (_, j) => 0.5 - (j % 3)); // dWeight/dBias accumulate
      const [bn, bt] = both([new Float32Array(rows * cols), init.slice(), init.slice()],
        (b, dx, dw, db) => b.layerNormBackward(dy, x, w, ft[2], ft[3], dx, affine ? dw : null, affine ? db : null,
          rows, cols));
      assertClose(bn[0], bt[0], `${label} dx`);
      assertClose(bn[1], bt[1], `${label} dWeight`);
      assertClose(bn[2], bt[2], `${label} dBias`);

      const alias = dy.slice();
      native.layerNormBackward(alias, x, w, ft[2], ft[3], alias, null, null, rows, cols);
      assertClose(alias, bt[0], `${label} dx in place`);
      if (affine) {
        const dw = init.slice();
        native.layerNormBackward(dy, x, w, ft[2], ft[3], null, dw, null, rows, cols);
        assertClose(dw, bt[1], `${label} dWeight without dx`);
      }
    }
  }
});

test("gelu forward and backward, erf and tanh forms", () => {
  for (const n of [1001, 70001]) {
    const x = randomArray(n, 10);
    x[0] = 0; x[1] = -30; x[2] = 30;
    const dy = randomArray(n);
    for (const approximate of [false, true]) {
      const label = `gelu ${approximate ? "tanh" : "erf"} n=${n}`;
      const [fn, ft] = both([new Float32Array(n)],
        (b, y) => b.geluForward(x, y, n, approximate));
      assertClose(fn[0], ft[0], label);
      const [bn, bt] = both([new Float32Array(n)],
        (b, dx) => b.geluBackward(x, dy, dx, n, approximate));
      assertClose(bn[0], bt[0], `${label} backward`);
      const alias = dy.slice();
      native.geluBackward(x, alias, alias, n, approximate);
      assertClose(alias, bt[0], `${label} backward in place`);
    }
  }
});

test("rmsnorm forward and backward, with and without a weight, into an accumulating dWeight", () => {
  for (const [rows, cols] of [[7, 576], [33, 1001]]) {
    const n = rows * cols, x = randomArray(n, 3), dy = randomArray(n), w = randomArray(cols, 2);
    for (const weight of [w, null]) {
      const label = `rmsnorm ${rows}x${cols}${weight ? "" : " no weight"}`;
      const [fn, ft] = both([new Float32Array(n), new Float32Array(rows)],
        (b, y, rstd) => b.rmsNormForward(x, weight, y, rstd, rows, cols, 1e-6));
      assertClose(fn[0], ft[0], label);
      assertClose(fn[1], ft[1], `${label} rstd`);
      const rstd = ft[1];
      const [bn, bt] = both([new Float32Array(n), new Float32Array(cols).fill(0.5)],
        (b, dx, dw) => b.rmsNormBackward(dy, x, weight, rstd, dx, weight ? dw : null, rows, cols));
      assertClose(bn[0], bt[0], `${label} dx`);
      assertClose(bn[1], bt[1], `${label} dWeight (accumulated onto 0.5)`);
      const alias = dy.slice();
      native.rmsNormBackward(alias, x, weight, rstd, alias, null, rows, cols);
      assertClose(alias, bt[0], `${label} dx in place`);
    }
  }
});

test("strided copy: permutations with a contiguous or strided innermost axis, and an empty one", () => {
  const cases: [number[], number[]][] = [[[3, 5, 7, 9], [0, 2, 1, 3]], [[3, 5, 7, 9], [3, 1, 0, 2]], [[33, 65], [1, 0]],
    [[2, 0, 4], [0, 2, 1]], [[4, 6, 8], [2, 1, 0]]];
  for (const [shape, perm] of cases) {
    const n = shape.reduce((a, b) => a * b, 1), src = randomArray(n);
    const inStrides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
    const outShape = Int32Array.from(perm, (p) => shape[p]), strides = Int32Array.from(perm, (p) => inStrides[p]);
    const [fn, ft] = both([new Float32Array(n)], (b, dst) => b.stridedCopy(src, dst, outShape, strides));
    assert.deepEqual(fn[0], ft[0], `[${shape}] permuted [${perm}]`);
  }
});

test("silu forward and backward", () => {
  for (const n of [1001, 70001]) {
    const x = randomArray(n, 10);
    x[0] = 0; x[1] = -100; x[2] = 100; x[3] = -Infinity; x[4] = Infinity;
    const dy = randomArray(n);
    const [fn, ft] = both([new Float32Array(n)], (b, y) => b.siluForward(x, y, n));
    assertClose(fn[0], ft[0], `silu n=${n}`);
    const [bn, bt] = both([new Float32Array(n)], (b, dx) => b.siluBackward(x, dy, dx, n));
    assertClose(bn[0], bt[0], `silu n=${n} backward`);
    const alias = dy.slice();
    native.siluBackward(x, alias, alias, n);
    assertClose(alias, bt[0], `silu n=${n} backward in place`);
  }
});

test("rope matches the TypeScript backend bit for bit, both ways, with one table or one per batch row", () => {
  // [batch, heads, len, headDim, rotaryDim, tableRows]: a whole head, Phi-3's partial rotation, a decode step.
  for (const [batch, heads, len, headDim, rotary, rows] of [[2, 3, 17, 64, 64, 1], [3, 2, 9, 96, 32, 3], [4, 5, 1, 8, 8, 4]]) {
    const n = batch * heads * len * headDim, x = randomArray(n, 3);
    const cos = randomArray(rows * len * rotary), sin = randomArray(rows * len * rotary);
    for (const sign of [1, -1] as const) {
      const [fn, ft] = both([new Float32Array(n)], (b, out) => b.rope(x, out, cos, sin, batch, heads, len, headDim, rotary, rows, sign));
      assert.deepEqual(fn[0], ft[0], `rope [${batch}, ${heads}, ${len}, ${headDim}] rotary ${rotary} sign ${sign}`);
    }
  }
  assert.throws(() => native.rope(new Float32Array(8), new Float32Array(8), new Float32Array(8), new Float32Array(8),
    1, 1, 1, 8, 8, 2, 1), RangeError);
});

test("adamw matches over several steps", () => {
  // With weights ~1e-3 the ~1e-3 updates dominate p, so the update itself is checked to 1e-5, not just p.
  for (const [n, scale] of [[1037, 1e-3], [50001, 1]]) {
    const p0 = randomArray(n, scale);
    const state = [0, 1].map(() => ({ p: p0.slice(), m: new Float32Array(n), v: new Float32Array(n) }));
    for (let step = 1; step <= 5; step++) {
      const g = randomArray(n, step);
      for (const [i, b] of [native, ts].entries()) {
        b.adamwStep(state[i].p, g, state[i].m, state[i].v, n, 1e-3, 0.9, 0.999, 1e-8, 0.01, step);
      }
      for (const key of ["p", "m", "v"] as const) assertClose(state[0][key], state[1][key], `adamw n=${n} step ${step} ${key}`);
    }
  }
  assert.throws(() => native.adamwStep(new Float64Array(2), new Float64Array(2), new Float64Array(2),
    new Float64Array(2), 2, 1e-3, 0.9, 0.999, 1e-8, 0, 1), TypeError);
});

test("cross-entropy forward and backward with ignored rows", () => {
  for (const [rows, cols] of [[37, 53], [6, 50257], [1, 1]]) {
    const logits = randomArray(rows * cols, 8);
    const targets = Int32Array.from({ length: rows }, (_, r) => (r % 4 === 3 ? -100 : Math.floor(rand() * cols)));
    const [fn, ft] = both([new Float32Array(rows), new Float32Array(rows)],
      (b, losses, lse) => b.crossEntropyForward(logits, targets, rows, cols, -100, losses, lse));
    assertClose(fn[0], ft[0], `cross-entropy ${rows}x${cols} losses`);
    assertClose(fn[1], ft[1], `cross-entropy ${rows}x${cols} lse`);
    const scale = randomArray(rows, 2);
    const [bn, bt] = both([new Float32Array(rows * cols).fill(NaN)],
      (b, d) => b.crossEntropyBackward(logits, targets, ft[1], scale, rows, cols, -100, d));
    assertClose(bn[0], bt[0], `cross-entropy ${rows}x${cols} dLogits`);
  }
  assert.throws(() => native.crossEntropyForward(new Float32Array(6), Int32Array.of(0, 3), 2, 3, -100,
    new Float32Array(2), new Float32Array(2)), { name: "RangeError", message: /targets\[1\] = 3/ });
});

test("FINETUNE_BLAS=builtin and FINETUNE_NUM_THREADS are read when the addon loads", () => {
  const script = 'import { nativeInfo } from "./src/backend/native.ts"; console.log(JSON.stringify(nativeInfo()));';
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    env: { ...process.env, FINETUNE_BLAS: "builtin", FINETUNE_NUM_THREADS: "3" }, encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.blas, "builtin");
  assert.equal(info.threads, 3);
});
