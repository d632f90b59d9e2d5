// Conversions between float32 and the stored element types (float16, bfloat16, ints …):
// decode any checkpoint dtype to float32, and encode float32 to float16/bfloat16 with
// round-to-nearest-even, keeping subnormals, infinities and NaN.
import type { DType } from "../tensor/index.ts"

let float16Table: Float32Array | undefined

/** All 65536 half-precision values as float32, built once; decoding is then a table lookup. */
const float16ToFloat32Table = (): Float32Array => {
  if (float16Table !== undefined) return float16Table
  const table = new Float32Array(65536)
  for (let bits = 0; bits < 65536; bits++) {
    const exponent = (bits >> 10) & 0x1f
    const mantissa = bits & 0x3ff
    let magnitude: number
    if (exponent === 0) magnitude = mantissa * 2 ** -24
    else if (exponent === 0x1f) magnitude = mantissa === 0 ? Infinity : NaN
    else magnitude = (1 + mantissa / 1024) * 2 ** (exponent - 15)
    table[bits] = bits & 0x8000 ? -magnitude : magnitude
  }
  float16Table = table
  return table
}

export const float16BitsToFloat32 = (bits: Uint16Array): Float32Array => {
  const table = float16ToFloat32Table()
  const out = new Float32Array(bits.length)
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!
  return out
}

export const bfloat16BitsToFloat32 = (bits: Uint16Array): Float32Array => {
  const out = new Float32Array(bits.length)
  const outBits = new Uint32Array(out.buffer)
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16
  return out
}

/** One float32 (as its bit pattern) to float16 bits, rounding to nearest even. */
export const float32BitsToFloat16Bits = (x: number): number => {
  const sign = (x >>> 16) & 0x8000
  const exponent = (x >>> 23) & 0xff
  const mantissa = x & 0x7fffff
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200 | (mantissa >>> 13))
  const halfExponent = exponent - 127 + 15
  if (halfExponent >= 0x1f) return sign | 0x7c00
  if (halfExponent <= 0) {
    // Below 2^-25 even rounding up cannot reach the smallest subnormal.
    if (halfExponent < -10) return sign
    const significand = mantissa | 0x800000
    const shift = 14 - halfExponent
    let half = significand >>> shift
    const remainder = significand & ((1 << shift) - 1)
    const halfway = 1 << (shift - 1)
    if (remainder > halfway || (remainder === halfway && (half & 1) === 1)) half++
    return sign | half
  }
  let half = (halfExponent << 10) | (mantissa >>> 13)
  const remainder = mantissa & 0x1fff
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1) === 1)) half++
  return sign | half
}

/** One float32 (as its bit pattern) to bfloat16 bits, rounding to nearest even; NaN stays NaN. */
export const float32BitsToBfloat16Bits = (x: number): number => {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff
}

/** Encodes `values` as `dtype` little-endian bytes (float32 is a view, not a copy). */
export const encodeFloat32As = (values: Float32Array, dtype: "float32" | "float16" | "bfloat16"): Uint8Array => {
  if (dtype === "float32") return new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length)
  const out = new Uint16Array(values.length)
  const convert = dtype === "float16" ? float32BitsToFloat16Bits : float32BitsToBfloat16Bits
  for (let i = 0; i < bits.length; i++) out[i] = convert(bits[i]!)
  return new Uint8Array(out.buffer)
}

/** Encodes `values` in blocks of at most `blockElements`, so a 16-bit copy never exists whole. */
export function* encodeFloat32Blocks(
  values: Float32Array,
  dtype: "float32" | "float16" | "bfloat16",
  blockElements = 1 << 20,
): Generator<Uint8Array> {
  if (dtype === "float32") {
    yield encodeFloat32As(values, dtype)
    return
  }
  for (let start = 0; start < values.length; start += blockElements) {
    yield encodeFloat32As(values.subarray(start, Math.min(values.length, start + blockElements)), dtype)
  }
}

/**
 * Decodes `count` elements of `dtype` from `buffer` (which must start at a multiple of the
 * element size, e.g. a fresh ArrayBuffer) to float32. float32 input is returned without a copy.
 */
export const decodeToFloat32 = (buffer: ArrayBuffer, dtype: DType, count: number): Float32Array => {
  switch (dtype) {
    case "float32":
      return new Float32Array(buffer, 0, count)
    case "float16":
      return float16BitsToFloat32(new Uint16Array(buffer, 0, count))
    case "bfloat16":
      return bfloat16BitsToFloat32(new Uint16Array(buffer, 0, count))
    case "float64":
      return Float32Array.from(new Float64Array(buffer, 0, count))
    case "int64": {
      const source = new BigInt64Array(buffer, 0, count)
      const out = new Float32Array(count)
      for (let i = 0; i < count; i++) out[i] = Number(source[i]!)
      return out
    }
    case "int32":
      return Float32Array.from(new Int32Array(buffer, 0, count))
    case "int16":
      return Float32Array.from(new Int16Array(buffer, 0, count))
    case "int8":
      return Float32Array.from(new Int8Array(buffer, 0, count))
    case "uint8":
    case "bool":
      return Float32Array.from(new Uint8Array(buffer, 0, count))
  }
}

/**
 * Decodes `count` elements of `dtype` from the start of `buffer` into `target` (at element 0),
 * like `decodeToFloat32` but without allocating: the streaming readers decode block by block
 * into the caller's buffer.
 */
export const decodeIntoFloat32 = (buffer: ArrayBuffer, dtype: DType, count: number, target: Float32Array): void => {
  switch (dtype) {
    case "float32":
      target.set(new Float32Array(buffer, 0, count))
      return
    case "float16": {
      const table = float16ToFloat32Table()
      const bits = new Uint16Array(buffer, 0, count)
      for (let i = 0; i < count; i++) target[i] = table[bits[i]!]!
      return
    }
    case "bfloat16": {
      const bits = new Uint16Array(buffer, 0, count)
      const outBits = new Uint32Array(target.buffer, target.byteOffset, count)
      for (let i = 0; i < count; i++) outBits[i] = bits[i]! << 16
      return
    }
    case "float64":
      target.set(new Float64Array(buffer, 0, count))
      return
    case "int64": {
      const source = new BigInt64Array(buffer, 0, count)
      for (let i = 0; i < count; i++) target[i] = Number(source[i]!)
      return
    }
    case "int32":
      target.set(new Int32Array(buffer, 0, count))
      return
    case "int16":
      target.set(new Int16Array(buffer, 0, count))
      return
    case "int8":
      target.set(new Int8Array(buffer, 0, count))
      return
    case "uint8":
    case "bool":
      target.set(new Uint8Array(buffer, 0, count))
      return
  }
}
