// The Tensor: a contiguous row-major buffer, a shape, and (when it takes part in autograd) the node that
// made it. Views that keep the layout (reshape) share the buffer; every other op writes a new one.
import type { FloatArray } from "../backend/backend.js";
import { acquireFloat32, releaseFloat32 } from "./pool.js";
import { defaultGenerator } from "./random.js";

export type DType = "float32" | "float64" | "int32";
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
  readonly data: TensorData;
  readonly shape: number[];
  readonly dtype: DType;
  requiresGrad = false;
  gradFn: GradNode | null = null;
  #grad: Tensor | null = null;
  #gradShared = false;

  constructor(data: TensorData, shape: readonly number[]) {
    const n = numelOf(shape);
    if (data.length !== n) throw new RangeError(`tensor data has ${data.length} elements but shape [${shape}] needs ${n}`);
    this.data = data;
    this.shape = [...shape];
    this.dtype = dtypeOf(data);
  }

  get ndim(): number { return this.shape.length; }
  get numel(): number { return this.data.length; }
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
    return new Tensor(allocLike(dtype, this.numel, this.data), this.shape);
  }

  backward(grad?: Tensor): void {
    backwardHook(this, grad);
  }

  toString(): string {
    return `Tensor(shape=[${this.shape}], dtype=${this.dtype}${this.requiresGrad ? ", requiresGrad" : ""})`;
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
