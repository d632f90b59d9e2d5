// IEEE 754 float32 ↔ float16 conversion on whole arrays (float16 as raw bits in a Uint16Array):
// round-to-nearest-even, subnormals, ±inf, NaN kept NaN, overflow to ±inf — what fp16 ONNX
// initializers and numpy's astype(float16) produce.

/** Converts each float32 to the nearest float16 (ties to even). Writes into `out` when given. */
export const float32ToFloat16 = (src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array => {
  if (out.length !== src.length) throw new RangeError(`float32ToFloat16: output holds ${out.length} elements, the input ${src.length}`)
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length)
  for (let i = 0; i < bits.length; i++) out[i] = float32BitsToFloat16Bits(bits[i]!)
  return out
}

export const float32BitsToFloat16Bits = (x: number): number => {
  const sign = (x >>> 16) & 0x8000
  const exponent = (x >>> 23) & 0xff
  const mantissa = x & 0x7fffff
  if (exponent === 0xff) {
    // Keep NaN a NaN: the quiet bit guarantees a non-zero half mantissa whatever the payload.
    return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13)
  }
  const halfExponent = exponent - 127 + 15
  if (halfExponent >= 0x1f) return sign | 0x7c00
  if (halfExponent <= 0) {
    // Below 2^-25 (half the smallest subnormal, 2^-24) everything rounds to zero.
    if (halfExponent < -10) return sign
    const full = mantissa | 0x800000
    const shift = 14 - halfExponent
    let half = full >>> shift
    const rest = full & ((1 << shift) - 1)
    const tie = 1 << (shift - 1)
    if (rest > tie || (rest === tie && (half & 1) !== 0)) half++
    // A carry out of the subnormal mantissa lands on the smallest normal, which is the right answer.
    return sign | half
  }
  let half = (halfExponent << 10) | (mantissa >>> 13)
  const rest = mantissa & 0x1fff
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) !== 0)) half++
  // A carry into the exponent is correct too, including rounding up to infinity.
  return sign | half
}

export const float16BitsToFloat32Bits = (h: number): number => {
  const sign = (h & 0x8000) << 16
  const exponent = (h >>> 10) & 0x1f
  const mantissa = h & 0x3ff
  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0
  if (exponent !== 0) return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0
  if (mantissa === 0) return sign >>> 0
  // Subnormal half: normalise so the leading 1 becomes the implicit bit of a float32.
  const leading = Math.clz32(mantissa) - 22 // zeros above the top set bit within the 10-bit field
  const normalised = (mantissa << (leading + 1)) & 0x3ff
  return (sign | ((112 - leading) << 23) | (normalised << 13)) >>> 0
}

// 65536 entries (256 KiB) turn decoding into one lookup per element; built on first use.
let decodeTable: Uint32Array | undefined

/** Converts float16 bits to float32 exactly. Writes into `out` when given. */
export const float16ToFloat32 = (src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array => {
  if (out.length !== src.length) throw new RangeError(`float16ToFloat32: output holds ${out.length} elements, the input ${src.length}`)
  if (decodeTable === undefined) {
    decodeTable = new Uint32Array(65536)
    for (let h = 0; h < 65536; h++) decodeTable[h] = float16BitsToFloat32Bits(h)
  }
  const table = decodeTable
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length)
  for (let i = 0; i < src.length; i++) bits[i] = table[src[i]!]!
  return out
}
