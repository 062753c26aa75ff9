// The kernel interface every backend implements. Kernels work on flat row-major buffers with explicit
// offsets, so the autograd layer can hand them slices of bigger tensors without copying.
// The TypeScript backend also accepts Float64Array (used by gradient checks); the native one takes
// Float32Array only, and the dispatcher in ./index.ts routes float64 work to TypeScript.

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

export interface Backend {
  readonly name: "native" | "typescript";
  /** The BLAS library in use, e.g. "libopenblas.so.0", or "builtin" for the backend's own GEMM. */
  readonly blas: string;
  threads(): number;
  setThreads(n: number): void;

  gemm(g: GemmArgs): void;
  gemmBatched(g: BatchedGemmArgs): void;

  /** Row-wise softmax over `cols`; x and y may alias. */
  softmaxForward(x: FloatArray, y: FloatArray, rows: number, cols: number): void;
  /** dx = y * (dy - sum(dy * y)) row-wise; dx may alias dy. */
  softmaxBackward(y: FloatArray, dy: FloatArray, dx: FloatArray, rows: number, cols: number): void;

  /** LayerNorm over the last `cols`; writes mean and rstd (length rows) for the backward pass.
   *  weight/bias may be null (no affine). */
  layerNormForward(x: FloatArray, weight: FloatArray | null, bias: FloatArray | null, y: FloatArray,
    mean: FloatArray, rstd: FloatArray, rows: number, cols: number, eps: number): void;
  /** Writes dx (if non-null) and ACCUMULATES into dWeight/dBias (if non-null). */
  layerNormBackward(dy: FloatArray, x: FloatArray, weight: FloatArray | null, mean: FloatArray, rstd: FloatArray,
    dx: FloatArray | null, dWeight: FloatArray | null, dBias: FloatArray | null, rows: number, cols: number): void;

  /** approximate = true is the tanh form (GPT-2's gelu_new); false is the exact erf form. */
  geluForward(x: FloatArray, y: FloatArray, n: number, approximate: boolean): void;
  /** dx = dy * gelu'(x); dx may alias dy. */
  geluBackward(x: FloatArray, dy: FloatArray, dx: FloatArray, n: number, approximate: boolean): void;

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
}
