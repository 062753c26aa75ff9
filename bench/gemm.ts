// GEMM throughput through the Backend interface versus cblas_sgemm timed from C in the same process, on
// GPT-2-small shapes: each forward GEMM C = A·B (m x k times k x n, layout "nn") plus the two backward
// GEMMs it implies, dA = dC·Bᵀ ("nt", m x n times (k x n)ᵀ) and dB = Aᵀ·dC ("tn", (m x k)ᵀ times m x n),
// reported with their own m, k, n; and the batched attention scores Q·Kᵀ (96 heads x 128 tokens, head 64).
// Then the products with a frozen bf16 weight on the DistilBERT-base forward shapes (bf16 rows: the forward
// A·Wᵀ and, transW, its dX = dY·W), each GFLOP/s also as a share of the machine's peak (npm run bench -- peak).
// Last, one-row products (a decode step of generation) on GPT-2-small's weights, read at memory speed: GB/s of
// weight read, with copies of the weight cycled so none is in cache ("nn": a Conv1D weight [in, out]; "nt": a
// Linear weight [out, in], the LM head among them).
//   node --import tsx bench/gemm.ts [--json] [--builtin[=kernel]] [--reps N] [--threads N]
// --builtin measures the builtin GEMM instead of the BLAS library (openblasGflops stays the library's).
import { pathToFileURL } from "node:url";
import type { Backend } from "../src/backend/backend.js";
import { packBf16 } from "../src/backend/bf16.js";
import { loadNativeBackend, nativeBlasSgemmGflops, nativeInfo, useBuiltinGemm } from "../src/backend/native.js";
import { cachedMachinePeak, ofPeak } from "../src/backend/peak.js";
import { PEAK_CACHE } from "./peak.js";
import { otherArgument } from "./usage.js";

export interface GemmBenchOptions {
  reps?: number;
  threads?: number;
  /** true or a kernel name: time the builtin GEMM. */
  builtin?: boolean | string;
}

export interface GemmBenchRow {
  layout: "nn" | "nt" | "tn";
  m: number;
  k: number;
  n: number;
  batch: number;
  gflops: number;
  openblasGflops: number | null;
  ratio: number | null;
}

interface Case {
  layout: GemmBenchRow["layout"];
  m: number;
  k: number;
  n: number;
  batch: number;
}

const FORWARD: [number, number, number][] = [[1024, 768, 768], [1024, 768, 3072], [1024, 3072, 768]];

function cases(): Case[] {
  const out: Case[] = [];
  for (const [m, k, n] of FORWARD) {
    out.push({ layout: "nn", m, k, n, batch: 1 });
    out.push({ layout: "nt", m, k: n, n: k, batch: 1 });
    out.push({ layout: "tn", m: k, k: m, n, batch: 1 });
  }
  out.push({ layout: "nt", m: 128, k: 64, n: 128, batch: 96 });
  return out;
}

function random(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return a;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** GFLOP/s through the Backend, then of cblas_sgemm from C on the same matrices. Not interleaved: OpenBLAS's
 *  threads spin on sched_yield for a while after each call, and the builtin GEMM run beside them read about
 *  half its rate (103 against 190 GFLOP/s on one host). So the library goes second and the case ends with a
 *  pause long enough for its threads to go to sleep. */
function measure(backend: Backend, c: Case, reps: number, warmupMs: number): { gflops: number; blas: number | null } {
  const transA = c.layout === "tn", transB = c.layout === "nt";
  const sizeA = c.m * c.k, sizeB = c.k * c.n, sizeC = c.m * c.n;
  const g = {
    transA, transB, m: c.m, n: c.n, k: c.k, alpha: 1, beta: 0,
    a: random(sizeA * c.batch), aOffset: 0, lda: transA ? c.m : c.k,
    b: random(sizeB * c.batch), bOffset: 0, ldb: transB ? c.k : c.n,
    c: new Float32Array(sizeC * c.batch), cOffset: 0, ldc: c.n,
    batch: c.batch, strideA: sizeA, strideB: sizeB, strideC: sizeC,
  };
  const run = () => (c.batch === 1 ? backend.gemm(g) : backend.gemmBatched(g));
  // The first case of a run used to read 0.4-0.6x the others: the thread pool, page faults and the clock
  // ramp all land on it. Each side runs for a while untimed before it is measured.
  const warm = (f: () => unknown) => { for (const t0 = performance.now(); performance.now() - t0 < warmupMs; ) f(); };
  warm(run);
  const seconds: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = process.hrtime.bigint();
    run();
    seconds.push(Number(process.hrtime.bigint() - t) * 1e-9);
  }
  const blas: number[] = [];
  if (nativeInfo().blasLibrary) {
    warm(() => nativeBlasSgemmGflops(g, 1));
    for (let r = 0; r < reps; r++) blas.push(nativeBlasSgemmGflops(g, 1)!);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, LIBRARY_THREADS_SLEEP_MS);
  }
  return { gflops: (2 * c.m * c.n * c.k * c.batch) / median(seconds) / 1e9, blas: blas.length ? median(blas) : null };
}

/** OpenBLAS's worker threads spin for 2^28 cycles (about 0.1 s) after a call before they sleep. */
const LIBRARY_THREADS_SLEEP_MS = 300;

const round = (x: number) => Math.round(x * 10) / 10;

export interface Bf16GemmRow {
  /** false: C = A·Wᵀ (a linear layer's forward); true: C = A·W (its dX). */
  transW: boolean;
  m: number;
  /** The weight [out, in]. */
  out: number;
  in: number;
  gflops: number;
}

/** GFLOP/s of the bf16 GEMM (the backend's, with the weight packed once beforehand) on the forward shapes. */
function bf16Rows(backend: Backend, reps: number): Bf16GemmRow[] {
  const rows: Bf16GemmRow[] = [];
  for (const [m, inF, outF] of FORWARD) {
    const w = packBf16(random(outF * inF), outF, inF);
    for (const transW of [false, true]) {
      const [k, n] = transW ? [outF, inF] : [inF, outF];
      const g = { transW, m, alpha: 1, a: random(m * k), aOffset: 0, lda: k, w, beta: 0, c: new Float32Array(m * n), cOffset: 0, ldc: n };
      const seconds: number[] = [];
      for (let r = 0; r < reps + 2; r++) {
        const t = process.hrtime.bigint();
        backend.gemmBf16(g);
        if (r >= 2) seconds.push(Number(process.hrtime.bigint() - t) / 1e9);
      }
      rows.push({ transW, m, out: outF, in: inF, gflops: round((2 * m * k * n) / median(seconds) / 1e9) });
    }
  }
  return rows;
}

export interface DecodeRow {
  layout: "nn" | "nt";
  k: number;
  n: number;
  ms: number;
  /** Weight bytes read per second. */
  gbPerSec: number;
}

const DECODE: [DecodeRow["layout"], number, number][] = [["nn", 768, 2304], ["nn", 768, 768], ["nn", 768, 3072], ["nn", 3072, 768], ["nt", 768, 50257]];

/** One row of A times a weight too large to stay in cache between calls: 400 MB of copies, cycled. */
function decodeRows(backend: Backend, reps: number): DecodeRow[] {
  return DECODE.map(([layout, k, n]) => {
    const copies = Math.ceil(400e6 / (4 * k * n));
    const weights = Array.from({ length: copies }, () => random(k * n));
    const a = random(k), c = new Float32Array(n);
    const run = (b: Float32Array) => backend.gemm({ transA: false, transB: layout === "nt", m: 1, n, k, alpha: 1, a, aOffset: 0, lda: k,
      b, bOffset: 0, ldb: layout === "nt" ? k : n, beta: 0, c, cOffset: 0, ldc: n });
    for (const w of weights) run(w);
    const calls = Math.max(reps * 4, copies * 2), seconds: number[] = [];
    for (let r = 0; r < calls; r++) {
      const t = process.hrtime.bigint();
      run(weights[r % copies]);
      seconds.push(Number(process.hrtime.bigint() - t) / 1e9);
    }
    const s = median(seconds);
    return { layout, k, n, ms: Math.round(s * 1e6) / 1000, gbPerSec: round((4 * k * n) / s / 1e9) };
  });
}

export async function runGemmBench(opts: GemmBenchOptions = {}): Promise<{ gemm: GemmBenchRow[]; bf16: Bf16GemmRow[]; decode: DecodeRow[]; bf16Kernel: string; blas: string; threads: number }> {
  const reps = opts.reps ?? 15;
  const backend = loadNativeBackend();
  if (opts.threads) backend.setThreads(opts.threads);
  const before = nativeInfo();
  if (opts.builtin) useBuiltinGemm(opts.builtin);
  try {
    const rows = cases().map((c, i): GemmBenchRow => {
      const { gflops, blas } = measure(backend, c, reps, i === 0 ? 1500 : 200);
      return {
        ...c, gflops: round(gflops), openblasGflops: blas === null ? null : round(blas),
        ratio: blas === null ? null : Math.round((gflops / blas) * 1000) / 1000,
      };
    });
    const info = nativeInfo();
    return { gemm: rows, bf16: bf16Rows(backend, reps), decode: decodeRows(backend, reps), bf16Kernel: info.bf16Kernel, blas: info.blas === "builtin" ? `builtin (${info.builtinKernel})` : info.blas, threads: info.threads };
  } finally {
    if (opts.builtin) {
      useBuiltinGemm(before.builtinKernel);
      if (before.blas !== "builtin") useBuiltinGemm(false);
    }
  }
}

function parseArgs(argv: string[]): GemmBenchOptions & { json: boolean } {
  const opts: GemmBenchOptions & { json: boolean } = { json: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = argv[i].split("=", 2);
    if (flag === "--json") opts.json = true;
    else if (flag === "--builtin") opts.builtin = value ?? true;
    else if (flag === "--reps") opts.reps = Number(value ?? argv[++i]);
    else if (flag === "--threads") opts.threads = Number(value ?? argv[++i]);
    else otherArgument(import.meta.url, argv[i]);
  }
  return opts;
}

/** The command line (also how bench/main.ts runs this suite): a table, or with --json one JSON object. */
export async function main(argv: string[]): Promise<unknown> {
  const { json, ...opts } = parseArgs(argv);
  const result = await runGemmBench(opts);
  const peak = await cachedMachinePeak(PEAK_CACHE);
  if (json) {
    console.log(JSON.stringify({ ...result, peak }));
  } else {
    console.log(`GEMM via ${result.blas}, ${result.threads} threads (GFLOP/s; openblas = cblas_sgemm from C)`);
    for (const r of result.gemm) {
      console.log(`${r.layout} ${r.batch > 1 ? `${r.batch}x ` : ""}${r.m}x${r.k}x${r.n}`.padEnd(24) +
        `${r.gflops.toFixed(1).padStart(8)} ${String(r.openblasGflops ?? "-").padStart(8)}  ratio ${r.ratio ?? "-"}` +
        ofPeak(r.gflops, peak?.fp32, "fp32"));
    }
    console.log(`bf16 weight packed once, ${result.bf16Kernel} kernel (GFLOP/s)`);
    for (const r of result.bf16) {
      console.log(`${r.transW ? "dX " : "fwd"} ${r.m}x${r.transW ? r.out : r.in}x${r.transW ? r.in : r.out}`.padEnd(24) +
        `${r.gflops.toFixed(1).padStart(8)}${ofPeak(r.gflops, peak?.bf16 ?? peak?.fp32, peak?.bf16 ? "bf16" : "fp32")}`);
    }
    console.log("one row of A (a decode step), weight read from memory (ms, GB/s of weight)");
    for (const r of result.decode)
      console.log(`${r.layout} 1x${r.k}x${r.n}`.padEnd(24) + `${r.ms.toFixed(3).padStart(8)} ms ${r.gbPerSec.toFixed(1).padStart(6)} GB/s`);
  }
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2));
