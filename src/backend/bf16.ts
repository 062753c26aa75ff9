// bfloat16 storage for frozen weights: the packed layout the GEMM of every backend reads (see
// native/native.h, FT_BF16_PANEL), conversions into it, and element access out of it. A weight [rows, cols]
// is stored as panels of PANEL rows; within a panel, column pair by column pair, the two bf16 of one row's
// pair side by side. So the products read it in order and nothing is repacked per call.

export const BF16_PANEL = 32;

/** A [rows, cols] matrix in bf16, in the packed layout. */
export interface PackedBf16 {
  readonly data: Uint16Array;
  readonly rows: number;
  readonly cols: number;
}

export function packedBf16Size(rows: number, cols: number): number {
  return Math.ceil(rows / BF16_PANEL) * BF16_PANEL * (cols + (cols & 1));
}

/** Where element (r, c) of a packed [rows, cols] matrix lives. */
export function packedIndex(r: number, c: number, cols: number): number {
  const kp = cols + (cols & 1);
  return Math.floor(r / BF16_PANEL) * BF16_PANEL * kp + (c >> 1) * 2 * BF16_PANEL + (r % BF16_PANEL) * 2 + (c & 1);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** fp32 -> bf16 bits, rounded to nearest even; a NaN stays NaN (as torch's conversion). */
export function toBf16Bits(x: number): number {
  f32[0] = x;
  const u = u32[0];
  if ((u & 0x7fffffff) > 0x7f800000) return (u >>> 16) | 0x40;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBf16Bits(bits: number): number {
  u32[0] = bits << 16;
  return f32[0];
}

/** x rounded to the nearest bf16 value, as a number. */
export function roundToBf16(x: number): number {
  return fromBf16Bits(toBf16Bits(x));
}

/** Packs a row-major matrix, given as fp32 values or as bf16 bits, or with `transposed` its transpose
 *  (src is then [cols, rows]: a GPT-2 Conv1D weight stored [in, out]). */
export function packBf16(src: Float32Array | Float64Array | Uint16Array, rows: number, cols: number, transposed = false): PackedBf16 {
  if (src.length !== rows * cols) throw new RangeError(`packBf16: ${src.length} values for a [${rows}, ${cols}] matrix`);
  const data = new Uint16Array(packedBf16Size(rows, cols));
  const bits = src instanceof Uint16Array;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = src[transposed ? c * rows + r : r * cols + c];
      data[packedIndex(r, c, cols)] = bits ? v : toBf16Bits(v);
    }
  }
  return { data, rows, cols };
}

/** The matrix as fp32, row-major (with `transposed`, its transpose). */
export function unpackBf16(p: PackedBf16, transposed = false): Float32Array {
  const { rows, cols } = p;
  const out = new Float32Array(rows * cols);
  const o32 = new Uint32Array(out.buffer);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) o32[transposed ? c * rows + r : r * cols + c] = p.data[packedIndex(r, c, cols)] << 16;
  return out;
}

/** Row r as fp32 into out[offset..] (an embedding lookup). */
export function unpackBf16Row(p: PackedBf16, r: number, out: Float32Array, offset: number): void {
  const o32 = new Uint32Array(out.buffer, out.byteOffset + offset * 4, p.cols);
  let base = packedIndex(r, 0, p.cols);
  for (let c = 0; c < p.cols; c += 2, base += 2 * BF16_PANEL) {
    o32[c] = p.data[base] << 16;
    if (c + 1 < p.cols) o32[c + 1] = p.data[base + 1] << 16;
  }
}
