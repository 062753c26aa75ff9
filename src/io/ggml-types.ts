// ggml's tensor element types as GGUF stores them: the type ids, each type's block layout (values per block and
// bytes per block), and conversion of the types this project reads or writes to and from float32.
import { fromFloat32, toFloat32 } from "./raw-tensor.js";

export interface GgmlTypeInfo {
  name: string;
  /** Values per block (1 for plain floats and ints). */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
}

// ggml.h's enum ggml_type, for every type a GGUF file can hold today. Ids 4, 5 (Q4_2, Q4_3) and 31-33 (Q4_0_4_4 ...)
// were removed upstream and are not accepted.
const TYPES: Record<number, GgmlTypeInfo> = {
  0: { name: "F32", blockSize: 1, typeSize: 4 },
  1: { name: "F16", blockSize: 1, typeSize: 2 },
  2: { name: "Q4_0", blockSize: 32, typeSize: 18 },
  3: { name: "Q4_1", blockSize: 32, typeSize: 20 },
  6: { name: "Q5_0", blockSize: 32, typeSize: 22 },
  7: { name: "Q5_1", blockSize: 32, typeSize: 24 },
  8: { name: "Q8_0", blockSize: 32, typeSize: 34 },
  9: { name: "Q8_1", blockSize: 32, typeSize: 36 },
  10: { name: "Q2_K", blockSize: 256, typeSize: 84 },
  11: { name: "Q3_K", blockSize: 256, typeSize: 110 },
  12: { name: "Q4_K", blockSize: 256, typeSize: 144 },
  13: { name: "Q5_K", blockSize: 256, typeSize: 176 },
  14: { name: "Q6_K", blockSize: 256, typeSize: 210 },
  15: { name: "Q8_K", blockSize: 256, typeSize: 292 },
  16: { name: "IQ2_XXS", blockSize: 256, typeSize: 66 },
  17: { name: "IQ2_XS", blockSize: 256, typeSize: 74 },
  18: { name: "IQ3_XXS", blockSize: 256, typeSize: 98 },
  19: { name: "IQ1_S", blockSize: 256, typeSize: 50 },
  20: { name: "IQ4_NL", blockSize: 32, typeSize: 18 },
  21: { name: "IQ3_S", blockSize: 256, typeSize: 110 },
  22: { name: "IQ2_S", blockSize: 256, typeSize: 82 },
  23: { name: "IQ4_XS", blockSize: 256, typeSize: 136 },
  24: { name: "I8", blockSize: 1, typeSize: 1 },
  25: { name: "I16", blockSize: 1, typeSize: 2 },
  26: { name: "I32", blockSize: 1, typeSize: 4 },
  27: { name: "I64", blockSize: 1, typeSize: 8 },
  28: { name: "F64", blockSize: 1, typeSize: 8 },
  29: { name: "IQ1_M", blockSize: 256, typeSize: 56 },
  30: { name: "BF16", blockSize: 1, typeSize: 2 },
  34: { name: "TQ1_0", blockSize: 256, typeSize: 54 },
  35: { name: "TQ2_0", blockSize: 256, typeSize: 66 },
  39: { name: "MXFP4", blockSize: 32, typeSize: 17 },
};

export const GGML_TYPE = { F32: 0, F16: 1, Q8_0: 8, BF16: 30 } as const;
export type WritableGgmlType = (typeof GGML_TYPE)[keyof typeof GGML_TYPE];

export function ggmlTypeInfo(type: number): GgmlTypeInfo | undefined {
  return Object.hasOwn(TYPES, type) ? TYPES[type] : undefined;
}

export function ggmlTypeName(type: number): string {
  return ggmlTypeInfo(type)?.name ?? `unknown type ${type}`;
}

/** The types dequantize() reads. */
export const READABLE_TYPES = ["F32", "F16", "BF16", "Q8_0"];

const Q8_0_BLOCK = 32;
const Q8_0_BYTES = 34;

/** Values of `numel` elements stored as `type` in `bytes`, as float32; undefined for a type not read here. */
export function dequantize(type: number, bytes: Uint8Array, numel: number): Float32Array | undefined {
  switch (type) {
    case GGML_TYPE.F32:
      return new Float32Array(copy(bytes).buffer, 0, numel);
    case GGML_TYPE.F16:
    case GGML_TYPE.BF16:
      return toFloat32({ dtype: type === GGML_TYPE.F16 ? "F16" : "BF16", shape: [numel], data: new Uint16Array(copy(bytes).buffer, 0, numel) });
    case GGML_TYPE.Q8_0:
      return dequantizeQ8_0(bytes, numel);
    default:
      return undefined;
  }
}

/** The bytes of `values` stored as `type` (Q8_0 needs a multiple of 32 values; rows are never split by it). */
export function quantize(type: WritableGgmlType, values: Float32Array): Uint8Array {
  switch (type) {
    case GGML_TYPE.F32:
      return new Uint8Array(Float32Array.from(values).buffer);
    case GGML_TYPE.F16:
    case GGML_TYPE.BF16: {
      const raw = fromFloat32(values, [values.length], type === GGML_TYPE.F16 ? "F16" : "BF16");
      return new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength);
    }
    case GGML_TYPE.Q8_0:
      return quantizeQ8_0(values);
  }
}

/** A standalone copy, so the typed-array view that follows starts 4-byte aligned whatever the source offset. */
function copy(bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes);
}

// Q8_0, as ggml's quantize_row_q8_0_ref: per block of 32, d = max|x| / 127 rounded to fp16 for storage, and
// q = round(x * (1/d)) with ties away from zero (C roundf), every step in float32.
function quantizeQ8_0(values: Float32Array): Uint8Array {
  if (values.length % Q8_0_BLOCK !== 0) throw new Error(`Q8_0 needs a multiple of ${Q8_0_BLOCK} values, got ${values.length}`);
  const blocks = values.length / Q8_0_BLOCK;
  const out = new Uint8Array(blocks * Q8_0_BYTES);
  const view = new DataView(out.buffer);
  const f = Math.fround;
  for (let b = 0; b < blocks; b++) {
    const x = values.subarray(b * Q8_0_BLOCK, (b + 1) * Q8_0_BLOCK);
    let amax = 0;
    for (const v of x) amax = Math.max(amax, Math.abs(v));
    const d = f(amax / 127);
    const id = d !== 0 ? f(1 / d) : 0;
    const scale = fromFloat32(Float32Array.of(d), [1], "F16").data as Uint16Array;
    view.setUint16(b * Q8_0_BYTES, scale[0]!, true);
    for (let j = 0; j < Q8_0_BLOCK; j++) view.setInt8(b * Q8_0_BYTES + 2 + j, roundHalfAway(f(x[j]! * id)));
  }
  return out;
}

function roundHalfAway(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}

function dequantizeQ8_0(bytes: Uint8Array, numel: number): Float32Array {
  const blocks = numel / Q8_0_BLOCK;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const q = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const scales = new Uint16Array(blocks);
  for (let b = 0; b < blocks; b++) scales[b] = view.getUint16(b * Q8_0_BYTES, true);
  const d = toFloat32({ dtype: "F16", shape: [blocks], data: scales });
  const out = new Float32Array(numel);
  for (let b = 0; b < blocks; b++) {
    const base = b * Q8_0_BYTES + 2, scale = d[b]!;
    for (let j = 0; j < Q8_0_BLOCK; j++) out[b * Q8_0_BLOCK + j] = scale * q[base + j]!;
  }
  return out;
}
