// The kernel interface every backend implements. Kernels work on flat row-major buffers with explicit
// offsets, so the autograd layer can hand them slices of bigger tensors without copying.
// The TypeScript backend also accepts Float64Array (used by gradient checks); the native one takes
// Float32Array only, and the dispatcher in ./index.ts routes float64 work to TypeScript.

import type { PackedBf16 } from "./bf16.js";

export type FloatArray = Float32Array | Float64Array;

export interface GemmArgs {
  transA: boolean;
  transB: boolean;
  /** C is m x n; op(A) is m x k; op(B) is k x n. */
  m: number;
  n: number;
  k: number;
  alpha: number;
  a: FloatArray;
  aOffset: number;
  lda: number;
  b: FloatArray;
  bOffset: number;
  ldb: number;
  /** beta = 0 overwrites C (its old content may be garbage, even NaN); beta = 1 accumulates. */
  beta: number;
  c: FloatArray;
  cOffset: number;
  ldc: number;
}

export interface BatchedGemmArgs extends GemmArgs {
  batch: number;
  /** Element distance between consecutive matrices; 0 broadcasts one matrix over the batch. */
  strideA: number;
  strideB: number;
  strideC: number;
}

/** A product with a frozen bf16 weight W [wRows, wCols] in the packed layout of ./bf16.ts: C = alpha · A Wᵀ + beta · C
 *  (a linear layer's forward, A [m, wCols]) or with transW C = alpha · A W + beta · C (its dX, A [m, wRows]).
 *  A is rounded to bf16 and the products accumulate in fp32 (at least). */
export interface Bf16GemmArgs {
  transW: boolean;
  m: number;
  alpha: number;
  a: FloatArray;
  aOffset: number;
  lda: number;
  w: PackedBf16;
  beta: number;
  c: FloatArray;
  cOffset: number;
  ldc: number;
  /** Added to every row of C (one value per column), as C is written: C = alpha · A op(W) + bias + beta · C. */
  bias?: FloatArray | null;
}

/** Inverted dropout by hashed mask: element i is kept when mix(mix(i ^ seed0) + seed1) >= threshold (see
 *  ft_keep in native/kernel.h), so backward recomputes the mask instead of storing it. threshold =
 *  round(p * 2^32); 0 turns dropout off. Kept elements are multiplied by scale = 1 / (1 - p). */
export interface DropoutSpec {
  threshold: number;
  scale: number;
  seed0: number;
  seed1: number;
}

/** Fused attention: P = softmax(scale * Q Kᵀ + mask), out = dropout(P) V, per (batch, head). */
export interface AttentionArgs {
  q: FloatArray;
  k: FloatArray;
  v: FloatArray;
  batch: number;
  heads: number;
  queries: number;
  keys: number;
  /** Rows each (batch, head) of k and v holds, >= keys, in the [batch, heads, seq, dim] layout (a generation
   *  cache's spare rows follow the keys in use); keys otherwise. Forward only. */
  kvRows: number;
  dim: number;
  /** q, k, v, out and their gradients are [batch, seq, heads, dim]; else [batch, heads, seq, dim]. */
  headsInner: boolean;
  scale: number;
  /** Added to the scores: [batch, maskRows, keys], maskRows 1 (broadcast over queries) or queries. */
  mask: FloatArray | null;
  maskRows: number;
  /** The softmax output [batch, heads, queries, keys]: written by forward, read by backward. Null when no
   *  backward will run: forward then keeps only one block of query rows' scores at a time. */
  probs: FloatArray | null;
  dropout: DropoutSpec;
}

export interface Backend {
  readonly name: "native" | "typescript";
  /** The BLAS library in use, e.g. "libopenblas.so.0", or "builtin" for the backend's own GEMM. */
  readonly blas: string;
  threads(): number;
  setThreads(n: number): void;

  gemm(g: GemmArgs): void;
  gemmBatched(g: BatchedGemmArgs): void;
  gemmBf16(g: Bf16GemmArgs): void;

  /** Row-wise softmax over `cols`; x and y may alias. */
  softmaxForward(x: FloatArray, y: FloatArray, rows: number, cols: number): void;
  /** dx = y * (dy - sum(dy * y)) row-wise; dx may alias dy. */
  softmaxBackward(y: FloatArray, dy: FloatArray, dx: FloatArray, rows: number, cols: number): void;

  /** LayerNorm over the last `cols`; writes mean and rstd (length rows) for the backward pass.
   *  weight/bias may be null (no affine). */
  layerNormForward(x: FloatArray, weight: FloatArray | null, bias: FloatArray | null, y: FloatArray,
    mean: FloatArray, rstd: FloatArray, rows: number, cols: number, eps: number): void;
  /** layerNormForward of a + b (a residual and the norm after it) in one pass; sum (if non-null) receives
   *  a + b, which backward needs. */
  addLayerNormForward(a: FloatArray, b: FloatArray, weight: FloatArray | null, bias: FloatArray | null, y: FloatArray,
    sum: FloatArray | null, mean: FloatArray, rstd: FloatArray, rows: number, cols: number, eps: number): void;
  /** Writes dx (if non-null) and ACCUMULATES into dWeight/dBias (if non-null). */
  layerNormBackward(dy: FloatArray, x: FloatArray, weight: FloatArray | null, mean: FloatArray, rstd: FloatArray,
    dx: FloatArray | null, dWeight: FloatArray | null, dBias: FloatArray | null, rows: number, cols: number): void;

  /** dst, contiguous in `shape`, gets src read with `strides` (elements, per axis): a permuted copy. */
  stridedCopy(src: FloatArray, dst: FloatArray, shape: Int32Array, strides: Int32Array): void;

  /** Llama's RMSNorm over rows of `cols`: rstd[r] = 1 / sqrt(mean(x[r]²) + eps), y = x * rstd * weight (no
   *  weight: 1). */
  rmsNormForward(x: FloatArray, weight: FloatArray | null, y: FloatArray, rstd: FloatArray, rows: number, cols: number,
    eps: number): void;
  /** dx = rstd * (g - x * rstd² * mean(g * x)) with g = dy * weight, overwritten (may alias dy); dWeight += the
   *  rows' sum of dy * x * rstd. Either may be null. */
  rmsNormBackward(dy: FloatArray, x: FloatArray, weight: FloatArray | null, rstd: FloatArray, dx: FloatArray | null,
    dWeight: FloatArray | null, rows: number, cols: number): void;

  /** Rotary position embedding of x [batch, heads, len, headDim] into out (not aliasing x): on the first
   *  rotaryDim dims of each row, out = x·cos + sign·rotate_half(x)·sin with rotate_half(x) = cat(-x2, x1) and cos,
   *  sin [tableRows, len, rotaryDim] (tableRows 1: every batch row the same positions); the other dims copied.
   *  sign -1 rotates back: the backward of sign 1. */
  rope(x: FloatArray, out: FloatArray, cos: Float32Array, sin: Float32Array, batch: number, heads: number, len: number,
    headDim: number, rotaryDim: number, tableRows: number, sign: 1 | -1): void;

  /** approximate = true is the tanh form (GPT-2's gelu_new); false is the exact erf form. */
  geluForward(x: FloatArray, y: FloatArray, n: number, approximate: boolean): void;
  /** A linear layer's bias and GELU in one pass: x[r, j] += bias[j] (x becomes the pre-activation), then
   *  y = gelu(x); y may alias x. */
  biasGeluForward(x: FloatArray, bias: FloatArray, y: FloatArray, rows: number, cols: number, approximate: boolean): void;
  /** dx = dy * gelu'(x); dx may alias dy. */
  geluBackward(x: FloatArray, dy: FloatArray, dx: FloatArray, n: number, approximate: boolean): void;
  /** y = x * sigmoid(x) (SiLU, the Llama family's activation); y may alias x. */
  siluForward(x: FloatArray, y: FloatArray, n: number): void;
  /** dx = dy * silu'(x); dx may alias dy. */
  siluBackward(x: FloatArray, dy: FloatArray, dx: FloatArray, n: number): void;

  /** One decoupled-weight-decay Adam step in place, exactly torch.optim.AdamW (non-amsgrad, non-fused):
   *  p *= 1 - lr*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
   *  p -= (lr / (1 - b1^step)) * m / (sqrt(v) / sqrt(1 - b2^step) + eps). */
  adamwStep(p: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray, n: number, lr: number, beta1: number,
    beta2: number, eps: number, weightDecay: number, step: number): void;

  /** Row-wise cross-entropy with integer targets. losses[r] = logsumexp(x[r]) - x[r, t] (0 where
   *  t == ignoreIndex); lse[r] keeps the logsumexp for the backward pass. Returns nothing. */
  crossEntropyForward(logits: FloatArray, targets: Int32Array, rows: number, cols: number, ignoreIndex: number,
    losses: FloatArray, lse: FloatArray): void;
  /** dLogits[r] = scale[r] * (softmax(x[r]) - onehot(t)), zero rows where t == ignoreIndex. */
  crossEntropyBackward(logits: FloatArray, targets: Int32Array, lse: FloatArray, rowScale: FloatArray,
    rows: number, cols: number, ignoreIndex: number, dLogits: FloatArray): void;

  attentionForward(a: AttentionArgs, out: FloatArray): void;
  /** Overwrites each non-null gradient (laid out as its operand). */
  attentionBackward(a: AttentionArgs, dout: FloatArray, dq: FloatArray | null, dk: FloatArray | null,
    dv: FloatArray | null): void;
  /** y = x * (keep(i) ? scale : 0) (see DropoutSpec); y may alias x. The same call is its own backward. */
  dropout(x: FloatArray, y: FloatArray, n: number, d: DropoutSpec): void;
  /** out = a + b; out may alias a or b. */
  add(a: FloatArray, b: FloatArray, out: FloatArray, n: number): void;
  /** out = a * b; out may alias a or b. */
  mul(a: FloatArray, b: FloatArray, out: FloatArray, n: number): void;
  /** Hands the memory the allocator holds free back to the system (native: glibc's malloc_trim, since the addon
   *  keeps up to 1 GB of freed heap for the next step; TypeScript: nothing to do). */
  trimHeap(): void;
  /** out[j] += sum over rows of x[r, j] (a bias gradient). */
  sumRows(x: FloatArray, out: FloatArray, rows: number, cols: number): void;
  /** x[r, j] += row[j] for every row (a bias). */
  addRows(x: FloatArray, row: FloatArray, rows: number, cols: number): void;
}
