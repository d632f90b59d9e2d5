// IEEE half-precision and bfloat16 bit conversions to and from float32, used to write fp16
// weights from float32 sources and to read fp16/bf16 initializers back as float32.

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** float32 → float16 bits, round to nearest even; overflow becomes ±Inf, NaN stays NaN. */
export const float32ToFloat16Bits = (value: number): number => {
  f32[0] = value
  return halfFromFloat32Bits(u32[0]!)
}

/**
 * Converts a whole array at once (same results as float32ToFloat16Bits per element), reading
 * the float32 bit patterns through one view instead of a scratch cell per value: about twice as
 * fast, which counts on the half a billion weights of a bge-m3 fp16 export.
 */
export const float32ArrayToFloat16Bits = (values: Float32Array, out: Uint16Array): void => {
  if (out.length !== values.length) throw new RangeError(`float32ArrayToFloat16Bits: ${values.length} values but room for ${out.length}`)
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length)
  for (let i = 0; i < bits.length; i++) out[i] = halfFromFloat32Bits(bits[i]!)
}

/** The float16 bits of a float32 given as its bit pattern (round to nearest even; NaN → quiet NaN). */
const halfFromFloat32Bits = (x: number): number => {
  const sign = (x >>> 16) & 0x8000
  const exp = (x >>> 23) & 0xff
  let mant = x & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0)
  const e = exp - 127 + 15
  if (e >= 0x1f) return sign | 0x7c00
  if (e <= 0) {
    // Subnormal half (or zero): shift the implicit-1 mantissa into place, rounding to even.
    if (e < -10) return sign
    mant |= 0x800000
    const shift = 14 - e
    const half = mant >>> shift
    const rem = mant & ((1 << shift) - 1)
    const mid = 1 << (shift - 1)
    return sign | (rem > mid || (rem === mid && (half & 1) === 1) ? half + 1 : half)
  }
  const half = (e << 10) | (mant >>> 13)
  const rem = mant & 0x1fff
  // A carry out of the mantissa correctly bumps the exponent (up to Inf).
  return sign | (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1) ? half + 1 : half)
}

export const float16BitsToFloat32 = (bits: number): number => {
  const sign = bits & 0x8000 ? -1 : 1
  const exp = (bits >>> 10) & 0x1f
  const mant = bits & 0x3ff
  if (exp === 0) return sign * mant * 2 ** -24
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN
  return sign * (1 + mant / 1024) * 2 ** (exp - 15)
}

/** float32 → bfloat16 bits, round to nearest even; NaN stays a quiet NaN. */
export const float32ToBfloat16Bits = (value: number): number => {
  f32[0] = value
  const x = u32[0]!
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff
}

export const bfloat16BitsToFloat32 = (bits: number): number => {
  u32[0] = (bits & 0xffff) << 16
  return f32[0]!
}
