// Engine-independent tensor record shared by the file readers and writers. The tensor engine converts these to its own
// tensors; keeping I/O on plain typed arrays lets it evolve separately.

export type SafeDtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

/** F16 and BF16 keep their raw bits in a Uint16Array (Node 20 has no Float16Array); BOOL is one byte per value. */
export type RawData =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

export interface RawTensor {
  dtype: SafeDtype;
  shape: number[];
  data: RawData;
}

/** What a checkpoint file holds: named tensors and (safetensors only) string metadata. */
export interface TensorFileContent {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

type RawDataCtor = { new (length: number): RawData; readonly BYTES_PER_ELEMENT: number };

const CTORS: Record<SafeDtype, RawDataCtor> = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

export function isSafeDtype(value: unknown): value is SafeDtype {
  return typeof value === "string" && Object.hasOwn(CTORS, value);
}

export function itemSize(dtype: SafeDtype): number {
  return CTORS[dtype].BYTES_PER_ELEMENT;
}

export function allocData(dtype: SafeDtype, numel: number): RawData {
  return new CTORS[dtype](numel);
}

export function dataMatchesDtype(data: RawData, dtype: SafeDtype): boolean {
  return data.constructor === CTORS[dtype];
}

/** Product of the dims; undefined when a dim is not a non-negative safe integer or the product is not exact. */
export function checkedNumel(shape: readonly unknown[]): number | undefined {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) return undefined;
    n *= d;
    if (!Number.isSafeInteger(n)) return undefined;
  }
  return n;
}

export function numel(shape: readonly number[]): number {
  const n = checkedNumel(shape);
  if (n === undefined) throw new Error(`invalid shape [${shape.join(", ")}]`);
  return n;
}

/** Raw byte view of a tensor's data, without copying. */
export function dataBytes(data: RawData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

// The readers reinterpret file bytes in place, which is only right on a little-endian host (all Node targets today).
export function assertLittleEndianHost(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error("finetune-ts file I/O requires a little-endian host");
  }
}

/** Values as float32. F32 input is returned as is (shared, not copied). With `out` (of the tensor's length),
 *  half-precision values are widened straight into it, with no float32 copy in between. */
export function toFloat32(raw: RawTensor, out?: Float32Array): Float32Array {
  const { data } = raw;
  switch (raw.dtype) {
    case "F32":
      return data as Float32Array;
    case "F16":
      return halfBitsToFloat32(data as Uint16Array, out);
    case "BF16":
      return bf16BitsToFloat32(data as Uint16Array, out);
    case "I64":
      return Float32Array.from(data as BigInt64Array, (v) => Number(v));
    default:
      return Float32Array.from(data as Exclude<RawData, BigInt64Array>);
  }
}

/** Integer values as int32 (token ids, labels). I32 input is returned as is; I64 is range checked. */
export function toInt32(raw: RawTensor): Int32Array {
  const { data } = raw;
  switch (raw.dtype) {
    case "I32":
      return data as Int32Array;
    case "I64": {
      const src = data as BigInt64Array;
      const out = new Int32Array(src.length);
      for (let i = 0; i < src.length; i++) {
        const v = src[i]!;
        if (v < -2147483648n || v > 2147483647n) throw new RangeError(`int64 value ${v} at index ${i} does not fit in int32`);
        out[i] = Number(v);
      }
      return out;
    }
    case "I16":
    case "I8":
    case "U8":
    case "BOOL":
      return Int32Array.from(data as Int16Array | Int8Array | Uint8Array);
    default:
      throw new TypeError(`cannot convert ${raw.dtype} tensor to int32`);
  }
}

/** Packs float32 values into a tensor of a floating dtype (round to nearest even for F16/BF16). */
export function fromFloat32(values: Float32Array, shape: number[], dtype: "F32" | "F64" | "F16" | "BF16"): RawTensor {
  if (numel(shape) !== values.length) throw new Error(`shape [${shape.join(", ")}] does not match ${values.length} values`);
  switch (dtype) {
    case "F32":
      return { dtype, shape, data: values };
    case "F64":
      return { dtype, shape, data: Float64Array.from(values) };
    case "F16":
      return { dtype, shape, data: float32ToHalfBits(values) };
    case "BF16":
      return { dtype, shape, data: float32ToBf16Bits(values) };
  }
}

function halfBitsToFloat32(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) {
    const h = src[i]!;
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) {
      out[i] = (sign ? -1 : 1) * frac * 2 ** -24; // zero and subnormals
    } else if (exp === 0x1f) {
      bits[i] = sign | 0x7f800000 | (frac << 13);
    } else {
      bits[i] = sign | ((exp + 112) << 23) | (frac << 13);
    }
  }
  return out;
}

function bf16BitsToFloat32(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) bits[i] = src[i]! << 16;
  return out;
}

function float32ToBf16Bits(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const x = bits[i]!;
    if ((x & 0x7fffffff) > 0x7f800000) out[i] = (x >>> 16) | 0x40; // keep NaN a (quiet) NaN
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

function float32ToHalfBits(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const x = bits[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000; // subnormal half: shift the implicit bit in, then round
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      const rest = mant & ((1 << shift) - 1);
      let m = mant >>> shift;
      if (rest > half || (rest === half && (m & 1))) m++;
      out[i] = sign | m;
      continue;
    }
    const rest = mant & 0x1fff;
    let h = (e << 10) | (mant >>> 13);
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // may carry into the exponent, up to infinity: correct
    out[i] = sign | h;
  }
  return out;
}
