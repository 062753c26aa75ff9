// The Tensor: a contiguous row-major buffer, a shape, and (when it takes part in autograd) the node that
// made it. Views that keep the layout (reshape) share the buffer; every other op writes a new one.
import type { FloatArray } from "../backend/backend.js";
import { packBf16, packedBf16Size, unpackBf16, type PackedBf16 } from "../backend/bf16.js";
import { acquireFloat32, releaseFloat32 } from "./pool.js";
import { defaultGenerator } from "./random.js";

/** bfloat16 is a storage type for frozen weights only (see Bf16Tensor): computing ops return float32. */
export type DType = "float32" | "float64" | "int32" | "bfloat16";
export type TensorData = Float32Array | Float64Array | Int32Array;
export type NestedArray = number | boolean | NestedArray[];

/** How a result's gradient flows to its inputs. `backward` returns one gradient buffer per input, or
 *  null where the input needs none; it is dropped after use so saved activations are freed early. */
export interface GradNode {
  name: string;
  inputs: Tensor[];
  backward: ((grad: FloatArray, needs: boolean[]) => (FloatArray | null)[]) | null;
}

let nextId = 0;

/** The id the next tensor will get: every tensor made from now on has an id at least this. */
export function nextTensorId(): number {
  return nextId;
}

export class Tensor {
  readonly id = nextId++;
  readonly #data: TensorData | null;
  readonly shape: number[];
  readonly numel: number;
  readonly dtype: DType;
  requiresGrad = false;
  gradFn: GradNode | null = null;
  #grad: Tensor | null = null;
  #gradShared = false;

  /** data null is for a subclass that keeps its own storage and overrides `data` (Bf16Tensor). */
  constructor(data: TensorData, shape: readonly number[]);
  constructor(data: TensorData | null, shape: readonly number[], dtype: DType);
  constructor(data: TensorData | null, shape: readonly number[], dtype?: DType) {
    const n = numelOf(shape);
    if (data && data.length !== n) throw new RangeError(`tensor data has ${data.length} elements but shape [${shape}] needs ${n}`);
    this.#data = data;
    this.shape = [...shape];
    this.numel = n;
    this.dtype = data ? dtypeOf(data) : dtype!;
  }

  /** The elements, row-major. */
  get data(): TensorData { return this.#data!; }

  get ndim(): number { return this.shape.length; }
  size(dim?: number): number | number[] {
    return dim === undefined ? [...this.shape] : this.shape[normDim(dim, this.ndim)];
  }
  get isLeaf(): boolean { return this.gradFn === null; }

  /** The accumulated gradient. Reading or assigning it here marks it as possibly held by the caller, so
   *  clearGrad() then leaves its buffer to the GC instead of recycling it for the next step's gradients. */
  get grad(): Tensor | null {
    this.#gradShared = true;
    return this.#grad;
  }
  set grad(g: Tensor | null) {
    this.#grad = g;
    this.#gradShared = true;
  }

  /** The gradient as autograd and the optimizers read it, without marking it held. */
  peekGrad(): Tensor | null {
    return this.#grad;
  }

  /** Autograd's assignment of a gradient buffer that nothing else holds. */
  adoptGrad(g: Tensor): void {
    this.#grad = g;
    this.#gradShared = false;
  }

  /** Drops the gradient (zero_grad with set_to_none), recycling its buffer unless .grad was read since. */
  clearGrad(): void {
    if (this.#grad && !this.#gradShared) releaseFloat32(this.#grad.f);
    this.#grad = null;
  }
  get isFloat(): boolean { return this.dtype !== "int32"; }

  /** Float view of the data for kernels; throws on integer tensors. */
  get f(): FloatArray {
    if (this.data instanceof Int32Array) throw new TypeError("expected a floating-point tensor, got int32");
    return this.data;
  }

  setRequiresGrad(flag = true): this {
    if (flag && !this.isFloat) throw new TypeError("only floating-point tensors can require gradients");
    if (!this.isLeaf) throw new Error("requiresGrad can only be changed on leaf tensors; use detach()");
    this.requiresGrad = flag;
    return this;
  }

  toFloat32Array(): Float32Array {
    return this.data instanceof Float32Array ? this.data : Float32Array.from(this.data);
  }

  toArray(): NestedArray {
    const rec = (dim: number, off: number): NestedArray => {
      if (dim === this.ndim) return this.data[off];
      const stride = numelOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => rec(dim + 1, off + i * stride));
    };
    return rec(0, 0);
  }

  item(): number {
    if (this.numel !== 1) throw new RangeError(`item() needs a one-element tensor, got shape [${this.shape}]`);
    return this.data[0];
  }

  /** A tensor sharing this one's data, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  clone(): Tensor {
    return new Tensor(this.data.slice() as TensorData, this.shape);
  }

  /** Copies `src` into this tensor's buffer in place (no autograd), e.g. to load weights. */
  copy_(src: Tensor | TensorData): this {
    const d = src instanceof Tensor ? src.data : src;
    if (d.length !== this.numel) throw new RangeError(`copy_: ${d.length} elements into a tensor of ${this.numel}`);
    this.data.set(d);
    return this;
  }

  to(dtype: DType): Tensor {
    if (dtype === this.dtype) return this;
    if (dtype === "bfloat16") return Bf16Tensor.fromValues(this.data, this.shape);
    return new Tensor(allocLike(dtype, this.numel, this.data), this.shape);
  }

  backward(grad?: Tensor): void {
    backwardHook(this, grad);
  }

  toString(): string {
    return `Tensor(shape=[${this.shape}], dtype=${this.dtype}${this.requiresGrad ? ", requiresGrad" : ""})`;
  }
}

/**
 * A frozen weight matrix stored in bfloat16 (half the memory of float32), already in the packed layout the
 * bf16 GEMM reads (../backend/bf16.ts), so linear layers multiply by it with no per-call conversion. It never
 * requires grad: a trainable weight is float32 (Module.requiresGrad widens one). `data` is a float32 copy made
 * on each read, for the rare consumers that want values (saving, merging): writes to it are lost; use copy_.
 * With `transposed` the packed matrix is the transpose of the tensor's shape: a weight stored [in, out] (GPT-2's
 * Conv1D) is packed [out, in], the orientation of its forward product.
 */
export class Bf16Tensor extends Tensor {
  #packed: PackedBf16;

  constructor(packed: PackedBf16, shape: readonly number[], readonly transposed = false) {
    super(null, shape, "bfloat16");
    if (shape.length !== 2) throw new RangeError(`a bfloat16 tensor is a weight matrix, got shape [${shape}]`);
    const [rows, cols] = transposed ? [shape[1], shape[0]] : shape;
    if (packed.rows !== rows || packed.cols !== cols)
      throw new RangeError(`packed bf16 [${packed.rows}, ${packed.cols}] does not match shape [${shape}]${transposed ? " transposed" : ""}`);
    this.#packed = packed;
    Object.defineProperty(this, "requiresGrad", {
      get: () => false,
      set: (flag: boolean) => {
        if (flag) throw new TypeError("a bfloat16 weight cannot require grad: widen it to float32 first (.to(\"float32\"))");
      },
    });
  }

  /** fp32 values (or bf16 bits, Uint16Array) row-major in `shape`, rounded to bf16 and packed. */
  static fromValues(values: Float32Array | Float64Array | Int32Array | Uint16Array, shape: readonly number[], transposed = false): Bf16Tensor {
    if (values instanceof Int32Array) throw new TypeError("bfloat16 holds floating-point weights, got int32");
    const [rows, cols] = transposed ? [shape[1], shape[0]] : shape;
    return new Bf16Tensor(packBf16(values, rows, cols, transposed), shape, transposed);
  }

  /** Zeros, to be filled by assign (loading a checkpoint straight into bf16). */
  static empty(shape: readonly number[], transposed = false): Bf16Tensor {
    const [rows, cols] = transposed ? [shape[1], shape[0]] : shape;
    return new Bf16Tensor({ data: new Uint16Array(packedBf16Size(rows, cols)), rows, cols }, shape, transposed);
  }

  get packed(): PackedBf16 { return this.#packed; }

  /** Replaces the values: fp32 ones (rounded) or bf16 bits (Uint16Array), row-major in the tensor's shape. */
  assign(values: Float32Array | Float64Array | Uint16Array): this {
    if (values.length !== this.numel) throw new RangeError(`assign: ${values.length} values into a tensor of ${this.numel}`);
    this.#packed = Bf16Tensor.fromValues(values, this.shape, this.transposed).#packed;
    return this;
  }

  override get data(): Float32Array { return unpackBf16(this.#packed, this.transposed); }

  override clone(): Bf16Tensor {
    const p = this.#packed;
    return new Bf16Tensor({ ...p, data: p.data.slice() }, this.shape, this.transposed);
  }

  override copy_(src: Tensor | TensorData): this {
    if (src instanceof Bf16Tensor && src.transposed === this.transposed && src.shape.join() === this.shape.join()) {
      this.#packed = { ...src.packed, data: src.packed.data.slice() };
      return this;
    }
    const d = src instanceof Tensor ? src.data : src;
    if (d instanceof Int32Array) throw new TypeError("copy_: int32 values into a bfloat16 tensor");
    return this.assign(d);
  }
}

// autograd.ts installs the real implementation; the indirection keeps this file free of import cycles.
let backwardHook: (t: Tensor, grad?: Tensor) => void = () => {
  throw new Error("autograd not loaded");
};
export function installBackward(fn: (t: Tensor, grad?: Tensor) => void): void {
  backwardHook = fn;
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid dimension ${d} in shape [${shape}]`);
    n *= d;
  }
  return n;
}

export function normDim(dim: number, ndim: number): number {
  const d = dim < 0 ? dim + ndim : dim;
  if (d < 0 || d >= ndim) throw new RangeError(`dimension ${dim} out of range for a ${ndim}-d tensor`);
  return d;
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}

export function dtypeOf(data: TensorData): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int32Array) return "int32";
  throw new TypeError("tensor data must be a Float32Array, Float64Array or Int32Array");
}

export function alloc(dtype: DType, n: number): TensorData {
  if (dtype === "bfloat16") throw new TypeError("bfloat16 is a storage type for frozen weights (Tensor.to(\"bfloat16\")), not one to compute in");
  return dtype === "float32" ? acquireFloat32(n) : dtype === "float64" ? new Float64Array(n) : new Int32Array(n);
}

/** As alloc, for a caller that writes every element: a recycled float32 buffer skips the zero-fill. */
export function allocEmpty(dtype: DType, n: number): TensorData {
  return dtype === "float32" ? acquireFloat32(n, false) : alloc(dtype, n);
}

function allocLike(dtype: DType, n: number, src: ArrayLike<number>): TensorData {
  const out = alloc(dtype, n);
  for (let i = 0; i < n; i++) out[i] = src[i];
  return out;
}

/** A zeroed float buffer of the same precision as `like`. */
export function floatLike(like: FloatArray | Tensor, n: number): FloatArray {
  const d = like instanceof Tensor ? like.data : like;
  return d instanceof Float64Array ? new Float64Array(n) : acquireFloat32(n);
}

/** As floatLike, for a caller that writes every element: a recycled buffer skips the zero-fill. */
export function emptyLike(like: FloatArray | Tensor, n: number): FloatArray {
  const d = like instanceof Tensor ? like.data : like;
  return d instanceof Float64Array ? new Float64Array(n) : acquireFloat32(n, false);
}

// ---------------------------------------------------------------------------------------------- creation

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

function finish(t: Tensor, opts?: CreateOptions): Tensor {
  if (opts?.requiresGrad) t.setRequiresGrad(true);
  return t;
}

export function tensor(values: NestedArray | TensorData | ArrayLike<number>, opts?: CreateOptions & { shape?: number[] }): Tensor {
  if (ArrayBuffer.isView(values)) {
    const data = values as TensorData;
    const t = new Tensor(opts?.dtype && opts.dtype !== dtypeOf(data) ? allocLike(opts.dtype, data.length, data) : data,
      opts?.shape ?? [data.length]);
    return finish(t, opts);
  }
  const shape: number[] = [];
  let probe: unknown = values;
  while (Array.isArray(probe)) { shape.push(probe.length); probe = probe[0]; }
  const flat: number[] = [];
  const walk = (v: unknown, dim: number): void => {
    if (dim === shape.length) {
      if (typeof v === "boolean") { flat.push(v ? 1 : 0); return; }
      if (typeof v !== "number") throw new TypeError(`tensor(): expected a number at depth ${dim}, got ${typeof v}`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) throw new TypeError("tensor(): ragged nested array");
    for (const x of v) walk(x, dim + 1);
  };
  walk(values, 0);
  const dtype = opts?.dtype ?? "float32";
  return finish(new Tensor(allocLike(dtype, flat.length, flat), opts?.shape ?? shape), opts);
}

export function full(shape: readonly number[], value: number, opts?: CreateOptions): Tensor {
  const data = alloc(opts?.dtype ?? "float32", numelOf(shape));
  if (value !== 0) data.fill(value);
  return finish(new Tensor(data, shape), opts);
}

export const zeros = (shape: readonly number[], opts?: CreateOptions): Tensor => full(shape, 0, opts);
export const ones = (shape: readonly number[], opts?: CreateOptions): Tensor => full(shape, 1, opts);
export const zerosLike = (t: Tensor, opts?: CreateOptions): Tensor => full(t.shape, 0, { dtype: t.dtype, ...opts });
export const onesLike = (t: Tensor, opts?: CreateOptions): Tensor => full(t.shape, 1, { dtype: t.dtype, ...opts });

export function arange(start: number, end?: number, step = 1, opts?: CreateOptions): Tensor {
  if (end === undefined) { end = start; start = 0; }
  const n = Math.max(0, Math.ceil((end - start) / step));
  const data = alloc(opts?.dtype ?? "int32", n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return finish(new Tensor(data, [n]), opts);
}

export function randn(shape: readonly number[], opts?: CreateOptions & { std?: number; mean?: number }): Tensor {
  const t = full(shape, 0, opts);
  const std = opts?.std ?? 1, mean = opts?.mean ?? 0;
  for (let i = 0; i < t.numel; i++) t.data[i] = mean + std * defaultGenerator.normal();
  return t;
}

/** Uniform in [low, high). */
export function rand(shape: readonly number[], opts?: CreateOptions & { low?: number; high?: number }): Tensor {
  const t = full(shape, 0, opts);
  const low = opts?.low ?? 0, span = (opts?.high ?? 1) - low;
  for (let i = 0; i < t.numel; i++) t.data[i] = low + span * defaultGenerator.random();
  return t;
}

export function randint(low: number, high: number, shape: readonly number[]): Tensor {
  const t = full(shape, 0, { dtype: "int32" });
  for (let i = 0; i < t.numel; i++) t.data[i] = low + defaultGenerator.int(high - low);
  return t;
}

/** Accepts a tensor or nested numbers, as the model API does for outside scripts. */
export function asTensor(x: Tensor | NestedArray | TensorData, dtype: DType = "float32"): Tensor {
  if (x instanceof Tensor) return x;
  return tensor(x as NestedArray, { dtype });
}
