/**
 * Element types of graph tensors: their ONNX codes, sizes, and the conversions the weight writer needs
 * (bf16 and fp16 checkpoints are widened to fp32, or fp32 narrowed to fp16, while streaming).
 */

export type DType = "float32" | "float16" | "bfloat16" | "float64" | "int64" | "int32" | "int8" | "uint8" | "bool";

/** onnx.TensorProto.DataType codes. */
export const ONNX_DTYPE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16,
};

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** safetensors dtype names → ours (only the ones Wan checkpoints use, plus integer tables). */
export const SAFETENSORS_DTYPE: Record<string, DType> = {
  F32: "float32",
  F16: "float16",
  BF16: "bfloat16",
  F64: "float64",
  I64: "int64",
  I32: "int32",
  I8: "int8",
  U8: "uint8",
  BOOL: "bool",
};

export const SAFETENSORS_NAME: Record<DType, string> = Object.fromEntries(
  Object.entries(SAFETENSORS_DTYPE).map(([k, v]) => [v, k]),
) as Record<DType, string>;

export function isFloat(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float16" || dtype === "bfloat16" || dtype === "float64";
}

// --- scalar conversions -------------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half → float (exact). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** float → IEEE half, round to nearest even (as numpy/torch do). */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    // subnormal half (or zero)
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let h = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // may carry into the exponent, which is correct
  if (h >= 0x7c00) return sign | 0x7c00;
  return sign | h;
}

// --- bulk conversions on raw little-endian bytes --------------------------------------------------

/** Converts `count` elements from raw bytes of `from` into a new buffer of `to` (floating types only). */
export function convertFloats(src: Uint8Array, from: DType, to: DType): Uint8Array {
  if (from === to) return src;
  const count = src.byteLength / BYTES_PER_ELEMENT[from];
  const asFloat32 = toFloat32(src, from, count);
  if (to === "float32") return new Uint8Array(asFloat32.buffer, asFloat32.byteOffset, asFloat32.byteLength);
  if (to === "float16") {
    const out = new Uint16Array(count);
    for (let i = 0; i < count; i++) out[i] = floatToHalf(asFloat32[i]);
    return new Uint8Array(out.buffer);
  }
  if (to === "bfloat16") {
    // round to nearest even on the upper 16 bits
    const bits = new Uint32Array(asFloat32.buffer, asFloat32.byteOffset, count);
    const out = new Uint16Array(count);
    for (let i = 0; i < count; i++) {
      const b = bits[i];
      out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
    }
    return new Uint8Array(out.buffer);
  }
  throw new Error(`cannot convert ${from} to ${to}`);
}

/** Reads raw little-endian floating-point bytes as a Float32Array (copying when the source is not fp32). */
export function toFloat32(src: Uint8Array, from: DType, count = src.byteLength / BYTES_PER_ELEMENT[from]): Float32Array {
  if (from === "float32") {
    if (src.byteOffset % 4 === 0) return new Float32Array(src.buffer, src.byteOffset, count);
    return new Float32Array(src.slice().buffer, 0, count);
  }
  const out = new Float32Array(count);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  if (from === "float16") {
    for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else if (from === "bfloat16") {
    const outBits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) outBits[i] = view.getUint16(2 * i, true) << 16;
  } else if (from === "float64") {
    for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
  } else {
    throw new Error(`${from} is not a floating-point type`);
  }
  return out;
}
