// The one float32 ↔ float16 / bfloat16 conversion kiln uses (checkpoints, ONNX initializers,
// quantization): round-to-nearest-even, subnormals, overflow to ±inf, NaN kept NaN with its sign
// and top payload bits, so every one of the 65536 half patterns survives half → float → half.

const scratchFloat = new Float32Array(1)
const scratchBits = new Uint32Array(scratchFloat.buffer)

/** The float32 bit pattern of `value` (a double is first rounded to float32). */
const float32BitsOf = (value: number): number => {
  scratchFloat[0] = value
  return scratchBits[0]!
}

const float32FromBits = (bits: number): number => {
  scratchBits[0] = bits
  return scratchFloat[0]!
}

const checkSameLength = (fn: string, input: number, output: number): void => {
  if (output !== input) throw new RangeError(`${fn}: output holds ${output} elements, the input ${input}`)
}

// ---- float16 ----

/** float16 bits of a float32 given as its bit pattern: round to nearest even, overflow → ±inf. */
export const float32BitsToFloat16Bits = (x: number): number => {
  const sign = (x >>> 16) & 0x8000
  const exponent = (x >>> 23) & 0xff
  const mantissa = x & 0x7fffff
  // NaN: forcing the quiet bit keeps the half mantissa non-zero (a NaN, not ±inf) whatever the payload.
  if (exponent === 0xff) return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13)
  const halfExponent = exponent - 127 + 15
  if (halfExponent >= 0x1f) return sign | 0x7c00
  if (halfExponent <= 0) {
    // Below 2^-25 (half the smallest subnormal) even rounding up cannot reach 2^-24.
    if (halfExponent < -10) return sign
    const significand = mantissa | 0x800000
    const shift = 14 - halfExponent
    let half = significand >>> shift
    const rest = significand & ((1 << shift) - 1)
    const tie = 1 << (shift - 1)
    if (rest > tie || (rest === tie && (half & 1) !== 0)) half++
    // A carry out of the subnormal mantissa lands on the smallest normal, which is right.
    return sign | half
  }
  let half = (halfExponent << 10) | (mantissa >>> 13)
  const rest = mantissa & 0x1fff
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) !== 0)) half++
  // A carry into the exponent is right too, up to and including infinity.
  return sign | half
}

/** float32 bit pattern of float16 bits, exactly (NaN keeps its sign and payload). */
export const float16BitsToFloat32Bits = (h: number): number => {
  const sign = (h & 0x8000) << 16
  const exponent = (h >>> 10) & 0x1f
  const mantissa = h & 0x3ff
  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0
  if (exponent !== 0) return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0
  if (mantissa === 0) return sign >>> 0
  // Subnormal half: normalise so its leading 1 becomes the implicit bit of a float32.
  const leading = Math.clz32(mantissa) - 22 // zeros above the top set bit inside the 10-bit field
  const normalised = (mantissa << (leading + 1)) & 0x3ff
  return (sign | ((112 - leading) << 23) | (normalised << 13)) >>> 0
}

/** float16 bits of a number (rounded to float32 first, then to half, nearest even). */
export const float32ToFloat16Bits = (value: number): number => float32BitsToFloat16Bits(float32BitsOf(value))

/** The value of float16 bits. */
export const float16BitsToFloat32 = (h: number): number => float32FromBits(float16BitsToFloat32Bits(h))

/**
 * Converts a whole array (same bits as float32ToFloat16Bits per element) into `out`, or a fresh
 * array. Reading the bit patterns through one Uint32 view, not a scratch cell per value, is what
 * makes it fast enough for the half a billion weights of a bge-m3 fp16 export.
 */
export const float32ToFloat16 = (src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array => {
  checkSameLength("float32ToFloat16", src.length, out.length)
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length)
  for (let i = 0; i < bits.length; i++) out[i] = float32BitsToFloat16Bits(bits[i]!)
  return out
}

// 65536 float32 bit patterns (256 KiB) make decoding one lookup per element; built on first use.
// Bit patterns rather than floats, so NaNs are copied as they are instead of canonicalised.
let float16DecodeTable: Uint32Array | undefined

const float16Table = (): Uint32Array => {
  if (float16DecodeTable !== undefined) return float16DecodeTable
  const table = new Uint32Array(65536)
  for (let h = 0; h < 65536; h++) table[h] = float16BitsToFloat32Bits(h)
  float16DecodeTable = table
  return table
}

/** Converts float16 bits to float32 exactly, into `out` or a fresh array. */
export const float16ToFloat32 = (src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array => {
  checkSameLength("float16ToFloat32", src.length, out.length)
  const table = float16Table()
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length)
  for (let i = 0; i < src.length; i++) bits[i] = table[src[i]!]!
  return out
}

// ---- bfloat16 (the top half of a float32) ----

/** bfloat16 bits of a float32 given as its bit pattern: round to nearest even; NaN stays a quiet NaN. */
export const float32BitsToBfloat16Bits = (x: number): number => {
  // Rounding a NaN's payload could carry it into infinity, so NaN only keeps its top bits, quieted.
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff
}

/** bfloat16 bits of a number (rounded to float32 first, then to bfloat16, nearest even). */
export const float32ToBfloat16Bits = (value: number): number => float32BitsToBfloat16Bits(float32BitsOf(value))

/** The value of bfloat16 bits (exact: they are a float32's top 16 bits). */
export const bfloat16BitsToFloat32 = (bits: number): number => float32FromBits((bits & 0xffff) << 16)

/** Converts a whole array to bfloat16 bits (same as float32ToBfloat16Bits per element), into `out` or a fresh array. */
export const float32ToBfloat16 = (src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array => {
  checkSameLength("float32ToBfloat16", src.length, out.length)
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length)
  for (let i = 0; i < bits.length; i++) out[i] = float32BitsToBfloat16Bits(bits[i]!)
  return out
}

/** Converts bfloat16 bits to float32 exactly, into `out` or a fresh array. */
export const bfloat16ToFloat32 = (src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array => {
  checkSameLength("bfloat16ToFloat32", src.length, out.length)
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length)
  for (let i = 0; i < src.length; i++) bits[i] = src[i]! << 16
  return out
}
