// The native backend: a thin wrapper over the N-API addon built from native/ (see binding.gyp). Arguments go
// to C positionally, with no per-call objects; the addon checks array types and extents and throws a
// TypeError for Float64Array (float64 work belongs to the TypeScript backend).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { AttentionArgs, Backend, BatchedGemmArgs, FloatArray } from "./backend.js";
import { warn } from "../warnings/index.js";

export interface NativeInfo {
  /** The BLAS library GEMM goes through, or "builtin". */
  blas: string;
  /** The BLAS library found, whether or not GEMM goes through it (the builtin GEMM is preferred where it is
   *  faster, see native/addon.c); null when none was found. */
  blasLibrary: string | null;
  /** The builtin GEMM's micro-kernel, used when blas is "builtin". */
  builtinKernel: string;
  /** The builtin micro-kernels this CPU can run, best first. */
  builtinKernels: string[];
  threads: number;
  /** The micro-kernel of products with frozen bf16 weights, and the ones this CPU can run, best first. */
  bf16Kernel: string;
  bf16Kernels: string[];
}

/** A measured arithmetic peak: GFLOP/s on every thread, and the instructions measured. */
export interface PeakMeasure {
  gflops: number;
  isa: string;
}

/** The addon's exports: the row kernels exactly as the Backend declares them, the rest unpacked into
 *  positional arguments (N-API reads them faster than object fields). */
interface Addon extends Pick<Backend, "softmaxForward" | "softmaxBackward" | "layerNormForward" | "layerNormBackward" |
  "addLayerNormForward" | "geluForward" | "biasGeluForward" | "geluBackward" | "siluForward" | "siluBackward" | "rope" | "trimHeap" | "rmsNormForward" | "rmsNormBackward" | "adamwStep" | "crossEntropyForward" | "crossEntropyBackward" | "setThreads"> {
  stridedCopy(src: FloatArray, dst: FloatArray, shape: Int32Array, strides: Int32Array, nd: number): void;
  gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: FloatArray, aOffset: number, lda: number, b: FloatArray, bOffset: number, ldb: number,
    beta: number, c: FloatArray, cOffset: number, ldc: number,
    batch: number, strideA: number, strideB: number, strideC: number): void;
  attentionForward(q: FloatArray, k: FloatArray, v: FloatArray, mask: FloatArray | null, out: FloatArray,
    probs: FloatArray | null, batch: number, heads: number, queries: number, keys: number, dim: number, maskRows: number,
    headsInner: boolean, scale: number, threshold: number, keepScale: number, seed0: number, seed1: number, kvRows: number): void;
  attentionBackward(q: FloatArray, k: FloatArray, v: FloatArray, probs: FloatArray | null, dout: FloatArray,
    dq: FloatArray | null, dk: FloatArray | null, dv: FloatArray | null, batch: number, heads: number, queries: number,
    keys: number, dim: number, headsInner: boolean, scale: number, threshold: number, keepScale: number, seed0: number,
    seed1: number): void;
  dropout(x: FloatArray, y: FloatArray, n: number, threshold: number, scale: number, seed0: number, seed1: number): void;
  add(a: FloatArray, b: FloatArray, out: FloatArray, n: number): void;
  mul(a: FloatArray, b: FloatArray, out: FloatArray, n: number): void;
  sumRows(x: FloatArray, out: FloatArray, rows: number, cols: number): void;
  addRows(x: FloatArray, row: FloatArray, rows: number, cols: number): void;
  gemmBf16(transW: boolean, m: number, wRows: number, wCols: number, alpha: number, a: FloatArray, aOffset: number,
    lda: number, w: Uint16Array, beta: number, c: FloatArray, cOffset: number, ldc: number, bias: FloatArray | null): void;
  selectBf16Gemm(which: string): boolean;
  peakGflops(kind: "fp32" | "bf16", seconds: number): PeakMeasure | null;
  selectGemm(which: string): boolean;
  info(): NativeInfo;
  blasSgemmGflops(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: FloatArray, aOffset: number, lda: number, b: FloatArray, bOffset: number, ldb: number,
    beta: number, c: FloatArray, cOffset: number, ldc: number,
    batch: number, strideA: number, strideB: number, strideC: number, reps: number): number | null;
}

// src/backend/native.ts and dist/backend/native.js are both two levels below the package root.
const addonPath = fileURLToPath(new URL("../../build/Release/finetune_native.node", import.meta.url));
let addon: Addon | undefined;

function loadAddon(): Addon {
  if (addon) return addon;
  if (!existsSync(addonPath)) {
    throw new Error(`finetune-ts: the native addon is not built (no ${addonPath}). Build it with ` +
      "`node scripts/build-native.mjs` in a checkout or `npm rebuild finetune-ts` in a project; " +
      "it needs a C compiler, make and python3.");
  }
  try {
    addon = createRequire(import.meta.url)(addonPath) as Addon;
  } catch (e) {
    throw new Error(`finetune-ts: the native addon at ${addonPath} failed to load: ${(e as Error).message}. ` +
      "Rebuild it with `node scripts/build-native.mjs` (it may have been built for another Node or platform).",
      { cause: e });
  }
  const bf16 = process.env.FINETUNE_BF16_GEMM;
  if (bf16 && addon.info().bf16Kernel !== bf16) {
    process.emitWarning(`FINETUNE_BF16_GEMM=${bf16} is not a bf16 kernel this CPU runs (here: ` +
      `${addon.info().bf16Kernels.join(", ")}); using ${addon.info().bf16Kernel}.`);
  }
  const wanted = process.env.FINETUNE_BLAS;
  if (wanted && wanted !== "builtin" && addon.info().blas === "builtin") {
    warn(`FINETUNE_BLAS=${wanted} could not be loaded (or has no cblas_sgemm); using the builtin GEMM.`, "FINETUNE_BLAS");
  }
  return addon;
}

export function loadNativeBackend(): Backend {
  const a = loadAddon();
  return {
    name: "native",
    get blas() {
      return a.info().blas;
    },
    threads: () => a.info().threads,
    setThreads: (n) => a.setThreads(n),
    gemm: (g) => a.gemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.aOffset, g.lda, g.b, g.bOffset, g.ldb,
      g.beta, g.c, g.cOffset, g.ldc, 1, 0, 0, 0),
    gemmBatched: (g) => a.gemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.aOffset, g.lda, g.b, g.bOffset,
      g.ldb, g.beta, g.c, g.cOffset, g.ldc, g.batch, g.strideA, g.strideB, g.strideC),
    gemmBf16: (g) => a.gemmBf16(g.transW, g.m, g.w.rows, g.w.cols, g.alpha, g.a, g.aOffset, g.lda, g.w.data, g.beta, g.c,
      g.cOffset, g.ldc, g.bias ?? null),
    softmaxForward: a.softmaxForward,
    softmaxBackward: a.softmaxBackward,
    layerNormForward: a.layerNormForward,
    layerNormBackward: a.layerNormBackward,
    addLayerNormForward: a.addLayerNormForward,
    geluForward: a.geluForward,
    biasGeluForward: a.biasGeluForward,
    geluBackward: a.geluBackward,
    siluForward: a.siluForward,
    siluBackward: a.siluBackward,
    stridedCopy: (src, dst, shape, strides) => a.stridedCopy(src, dst, shape, strides, shape.length),
    rope: a.rope,
    rmsNormForward: a.rmsNormForward,
    rmsNormBackward: a.rmsNormBackward,
    adamwStep: a.adamwStep,
    crossEntropyForward: a.crossEntropyForward,
    crossEntropyBackward: a.crossEntropyBackward,
    attentionForward: (t: AttentionArgs, out) => a.attentionForward(t.q, t.k, t.v, t.mask, out, t.probs, t.batch, t.heads,
      t.queries, t.keys, t.dim, t.maskRows, t.headsInner, t.scale, t.dropout.threshold, t.dropout.scale, t.dropout.seed0,
      t.dropout.seed1, t.kvRows),
    attentionBackward: (t: AttentionArgs, dout, dq, dk, dv) => a.attentionBackward(t.q, t.k, t.v, t.probs, dout, dq, dk,
      dv, t.batch, t.heads, t.queries, t.keys, t.dim, t.headsInner, t.scale, t.dropout.threshold, t.dropout.scale,
      t.dropout.seed0, t.dropout.seed1),
    dropout: (x, y, n, d) => a.dropout(x, y, n, d.threshold, d.scale, d.seed0, d.seed1),
    add: a.add,
    mul: a.mul,
    trimHeap: a.trimHeap,
    sumRows: a.sumRows,
    addRows: a.addRows,
  };
}

export function nativeInfo(): NativeInfo {
  return loadAddon().info();
}

/** Routes GEMM through the builtin kernels (true: the best this CPU supports, or one by name) or back to
 *  the BLAS library (false). Process-wide. Throws if the choice is not available on this machine. */
export function useBuiltinGemm(builtin: boolean | string): void {
  const which = builtin === true ? "builtin" : builtin === false ? "blas" : builtin;
  if (!loadAddon().selectGemm(which)) {
    throw new Error(`finetune-ts: GEMM "${which}" is not available on this machine (builtin kernels here: ` +
      `${nativeInfo().builtinKernels.join(", ")}; "blas" needs a BLAS library, see FINETUNE_BLAS)`);
  }
}

/** Median GFLOP/s of `reps` runs of cblas_sgemm (one per batch item) on g's matrices, timed in C with no JS
 *  in between: the yardstick for bench/gemm.ts. null when no BLAS library was found. */
export function nativeBlasSgemmGflops(g: BatchedGemmArgs, reps: number): number | null {
  return loadAddon().blasSgemmGflops(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.aOffset, g.lda, g.b,
    g.bOffset, g.ldb, g.beta, g.c, g.cOffset, g.ldc, g.batch, g.strideA, g.strideB, g.strideC, reps);
}

/** Routes products with bf16 weights through one micro-kernel by name ("avx512bf16", "avx2", "generic"), e.g. to
 *  test a fallback on a CPU that has the best one. Process-wide; throws if this CPU cannot run it. */
export function useBf16Gemm(kernel: string): void {
  if (!loadAddon().selectBf16Gemm(kernel)) {
    throw new Error(`finetune-ts: bf16 kernel "${kernel}" is not available on this machine (here: ` +
      `${nativeInfo().bf16Kernels.join(", ")})`);
  }
}

/** The machine's fp32 multiply-add peak or its bf16 dot-product peak (null without AVX512_BF16) on every thread
 *  of the pool, measured for about `seconds`. */
export function measurePeak(kind: "fp32" | "bf16", seconds = 0.3): PeakMeasure | null {
  return loadAddon().peakGflops(kind, seconds);
}
