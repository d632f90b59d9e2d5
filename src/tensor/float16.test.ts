// Proves the float16/bfloat16 conversions against independent oracles: the IEEE definition for
// every one of the 65536 half and bfloat16 patterns, the engine's Math.f16round on a million
// random float32 patterns, nearest-even by exact arithmetic for bfloat16, and hand-picked ties,
// subnormals, overflow and NaNs; the bulk forms must give the scalar forms' bits exactly.
import { describe, expect, test } from "bun:test"
import {
  bfloat16BitsToFloat32,
  bfloat16ToFloat32,
  float16BitsToFloat32,
  float16BitsToFloat32Bits,
  float16ToFloat32,
  float32BitsToBfloat16Bits,
  float32BitsToFloat16Bits,
  float32ToBfloat16,
  float32ToBfloat16Bits,
  float32ToFloat16,
  float32ToFloat16Bits,
} from "./index.ts"

/** Deterministic uint32s (mulberry32). */
const seededUint32 = (seed: number, count: number): Uint32Array => {
  let state = seed >>> 0
  const out = new Uint32Array(count)
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    out[i] = (t ^ (t >>> 14)) >>> 0
  }
  return out
}

const bitsOf = (value: number): number => new Uint32Array(new Float32Array([value]).buffer)[0]!
const floatOf = (bits: number): number => new Float32Array(new Uint32Array([bits]).buffer)[0]!

/** Value of half bits from the definition, independent of the code under test. */
const halfValue = (h: number): number => {
  const sign = h & 0x8000 ? -1 : 1
  const e = (h >>> 10) & 0x1f
  const m = h & 0x3ff
  if (e === 0x1f) return m === 0 ? sign * Infinity : NaN
  return e === 0 ? sign * m * 2 ** -24 : sign * (1 + m / 1024) * 2 ** (e - 15)
}

const sameValue = (a: number, b: number): boolean => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))

const allPatterns16 = (): Uint16Array => Uint16Array.from({ length: 65536 }, (_, i) => i)

describe("float32 → float16", () => {
  test("known values encode to their IEEE half bit patterns", () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff],
      [2 ** -24, 0x0001], [2 ** -14, 0x0400], [1023 * 2 ** -24, 0x03ff], [Infinity, 0x7c00], [-Infinity, 0xfc00],
    ]
    for (const [value, bits] of cases) expect([value, float32ToFloat16Bits(value)]).toEqual([value, bits])
  })

  test("rounds to nearest, ties to even", () => {
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00) // tie between 1 (even) and 1 + 2^-10 → down
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02) // tie between odd and even → up
    expect(float32ToFloat16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01) // just above the tie → up
    expect(float32ToFloat16Bits(1 + 2 ** -11 - 2 ** -20)).toBe(0x3c00)
  })

  test("overflows to infinity from the midpoint above 65504", () => {
    expect(float32ToFloat16Bits(65519.99)).toBe(0x7bff)
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00) // tie between 65504 (odd) and 65536 → up, i.e. inf
    expect(float32ToFloat16Bits(1e10)).toBe(0x7c00)
    expect(float32ToFloat16Bits(-1e10)).toBe(0xfc00)
    expect(float32BitsToFloat16Bits(0x7f7fffff)).toBe(0x7c00) // largest float32
  })

  test("subnormals, their rounding and underflow to signed zero", () => {
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0x0000) // tie between 0 and the smallest subnormal → 0
    expect(float32ToFloat16Bits(2 ** -25 + 2 ** -40)).toBe(0x0001)
    expect(float32ToFloat16Bits(3 * 2 ** -25)).toBe(0x0002) // tie between 1 and 2 ulps → 2
    expect(float32ToFloat16Bits(5 * 2 ** -25)).toBe(0x0002) // tie between 2 and 3 ulps → 2
    expect(float32ToFloat16Bits(2 ** -26)).toBe(0x0000)
    expect(float32ToFloat16Bits(-(2 ** -26))).toBe(0x8000)
    expect(float32ToFloat16Bits(2 ** -14 - 2 ** -26)).toBe(0x0400) // rounds up out of the subnormals
    expect(float32ToFloat16Bits(1e-45)).toBe(0x0000) // smallest float32 subnormal
  })

  test("NaN stays NaN with its sign and the top of its payload, quieted", () => {
    expect(float32BitsToFloat16Bits(0x7fc00000)).toBe(0x7e00)
    expect(float32BitsToFloat16Bits(0x7f800001)).toBe(0x7e00) // payload below half precision: quiet bit keeps it NaN
    expect(float32BitsToFloat16Bits(0xff800001)).toBe(0xfe00)
    expect(float32BitsToFloat16Bits(0x7f802000)).toBe(0x7e01)
    expect(float32BitsToFloat16Bits(0xffffe000)).toBe(0xffff)
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true)
  })

  test("agrees with the engine's Math.f16round on a million random float32 patterns", () => {
    const f16round = (Math as unknown as { f16round?: (x: number) => number }).f16round
    if (f16round === undefined) throw new Error("this engine lacks Math.f16round, the oracle for this test")
    const bits = seededUint32(5, 1_000_000)
    // Every other pattern is pulled into the exponents around the half range, where rounding happens.
    for (let i = 1; i < bits.length; i += 2) bits[i] = ((bits[i]! & 0x807fffff) | ((100 + (bits[i - 1]! % 44)) << 23)) >>> 0
    const floats = new Float32Array(bits.buffer)
    const halves = float32ToFloat16(floats)
    let mismatches = 0
    for (let i = 0; i < floats.length; i++) if (!sameValue(f16round(floats[i]!), halfValue(halves[i]!))) mismatches++
    expect(mismatches).toBe(0)
  }, 30_000)
})

describe("float16 → float32", () => {
  test("every one of the 65536 half patterns decodes exactly, by bulk and by scalar", () => {
    const decoded = float16ToFloat32(allPatterns16())
    for (let h = 0; h < 65536; h++) {
      const want = halfValue(h)
      if (!sameValue(want, decoded[h]!)) throw new Error(`half 0x${h.toString(16)}: want ${want}, bulk gave ${decoded[h]}`)
      if (!sameValue(want, float16BitsToFloat32(h))) throw new Error(`half 0x${h.toString(16)}: want ${want}, scalar gave ${float16BitsToFloat32(h)}`)
    }
    expect(decoded[0x0001]).toBe(2 ** -24)
    expect(decoded[0x0400]).toBe(2 ** -14)
    expect(decoded[0x7bff]).toBe(65504)
    expect(Object.is(decoded[0x8000], -0)).toBe(true)
  })

  test("NaNs decode with their sign and payload bits", () => {
    const bits = new Uint32Array(float16ToFloat32(new Uint16Array([0x7e00, 0xfe01, 0x7c01])).buffer)
    expect(Array.from(bits)).toEqual([0x7fc00000, 0xffc02000, 0x7f802000])
    expect(float16BitsToFloat32Bits(0xfe01)).toBe(0xffc02000)
  })

  test("all 65536 half patterns come back bit for bit through float32 (signalling NaNs quieted)", () => {
    const all = allPatterns16()
    const back = float32ToFloat16(float16ToFloat32(all))
    for (let h = 0; h < 65536; h++) {
      const isSignallingNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0 && (h & 0x200) === 0
      if (back[h] !== (isSignallingNaN ? h | 0x200 : h)) throw new Error(`half 0x${h.toString(16)} came back as 0x${back[h]!.toString(16)}`)
    }
    // Quiet NaNs come back exactly; signalling ones come back quieted, the only change allowed above.
    expect(back[0x7e05]).toBe(0x7e05)
    expect(back[0x7c05]).toBe(0x7e05)
  })
})

describe("bulk float16 conversion", () => {
  test("gives the scalar bits for every sign/exponent/high mantissa with tie, near-tie and NaN-payload low bits", () => {
    const lows = [0x0000, 0x0fff, 0x1000, 0x1001, 0x2000, 0x3000, 0xffff]
    const patterns = new Uint32Array(65536 * lows.length)
    for (let high = 0; high < 65536; high++) for (const [j, low] of lows.entries()) patterns[high * lows.length + j] = ((high << 16) | low) >>> 0
    const bulk = float32ToFloat16(new Float32Array(patterns.buffer))
    for (let i = 0; i < patterns.length; i++) {
      const one = float32BitsToFloat16Bits(patterns[i]!)
      if (bulk[i] !== one) throw new Error(`0x${patterns[i]!.toString(16)}: bulk 0x${bulk[i]!.toString(16)}, scalar 0x${one.toString(16)}`)
    }
  }, 30_000)

  test("reads subarrays at an offset and writes into the caller's buffer", () => {
    const out = new Uint16Array(4)
    expect(float32ToFloat16(new Float32Array([7, 1, -2, 0.5]).subarray(1), out.subarray(1))).toEqual(new Uint16Array([0x3c00, 0xc000, 0x3800]))
    expect(Array.from(out)).toEqual([0, 0x3c00, 0xc000, 0x3800])
    const floats = new Float32Array(3)
    const result = float16ToFloat32(new Uint16Array([0x4000, 0x3c00, 0xbc00]).subarray(1), floats.subarray(1))
    expect(Array.from(result)).toEqual([1, -1])
    expect(Array.from(floats)).toEqual([0, 1, -1])
  })

  test("refuses an output buffer of the wrong length, naming the function and both lengths", () => {
    expect(() => float32ToFloat16(new Float32Array(2), new Uint16Array(3))).toThrow("float32ToFloat16: output holds 3 elements, the input 2")
    expect(() => float16ToFloat32(new Uint16Array(2), new Float32Array(1))).toThrow("float16ToFloat32: output holds 1 elements, the input 2")
    expect(() => float32ToBfloat16(new Float32Array(2), new Uint16Array(1))).toThrow(RangeError)
    expect(() => bfloat16ToFloat32(new Uint16Array(2), new Float32Array(3))).toThrow(RangeError)
  })
})

describe("bfloat16", () => {
  test("rounds to nearest even, overflows to infinity and keeps NaN a quiet NaN", () => {
    expect(float32ToBfloat16Bits(1)).toBe(0x3f80)
    expect(float32ToBfloat16Bits(-2)).toBe(0xc000)
    expect(float32BitsToBfloat16Bits(0x3f808000)).toBe(0x3f80) // tie, even stays
    expect(float32BitsToBfloat16Bits(0x3f818000)).toBe(0x3f82) // tie, odd rounds up
    expect(float32BitsToBfloat16Bits(0x3f808001)).toBe(0x3f81)
    expect(float32ToBfloat16Bits(-Infinity)).toBe(0xff80)
    expect(float32BitsToBfloat16Bits(0x7f7fffff)).toBe(0x7f80) // largest float32 rounds to inf
    expect(float32BitsToBfloat16Bits(0x7f800001)).toBe(0x7fc0) // payload lost below 16 bits: quieted, not inf
    expect(float32BitsToBfloat16Bits(0xffffffff)).toBe(0xffff) // rounding would have carried out of the NaN
    expect(Number.isNaN(bfloat16BitsToFloat32(float32ToBfloat16Bits(NaN)))).toBe(true)
  })

  test("rounds 200000 random float32 patterns to the nearest bfloat16, ties to even, by exact arithmetic", () => {
    const bits = seededUint32(9, 200_000)
    // Every fourth pattern is an exact tie, where the even neighbour must win.
    for (let i = 0; i < bits.length; i += 4) bits[i] = ((bits[i]! & 0xffff0000) | 0x8000) >>> 0
    const out = float32ToBfloat16(new Float32Array(bits.buffer))
    for (let i = 0; i < bits.length; i++) {
      const x = floatOf(bits[i]!)
      if (Number.isNaN(x)) {
        if (!Number.isNaN(bfloat16BitsToFloat32(out[i]!))) throw new Error(`NaN 0x${bits[i]!.toString(16)} became 0x${out[i]!.toString(16)}`)
        continue
      }
      const down = bits[i]! >>> 16 // truncation: the neighbour towards zero
      const up = down + 1 // the neighbour away from zero
      // Doubles hold both distances exactly; past the largest finite bfloat16, ±inf rounds like ±2^128.
      const valueOf = (b: number): number => ((b & 0x7fff) === 0x7f80 ? (b & 0x8000 ? -1 : 1) * 2 ** 128 : floatOf((b << 16) >>> 0))
      const dDown = Math.abs(x - valueOf(down))
      const dUp = Math.abs(x - valueOf(up))
      const want = !Number.isFinite(x) || dDown < dUp || (dDown === dUp && (down & 1) === 0) ? down : up
      if (out[i] !== want) throw new Error(`0x${bits[i]!.toString(16)}: got 0x${out[i]!.toString(16)}, nearest even is 0x${want.toString(16)}`)
    }
  }, 30_000)

  test("every one of the 65536 bfloat16 patterns decodes exactly and encodes back", () => {
    const all = allPatterns16()
    const decoded = bfloat16ToFloat32(all)
    const decodedBits = new Uint32Array(decoded.buffer)
    const back = float32ToBfloat16(decoded)
    for (let b = 0; b < 65536; b++) {
      if (decodedBits[b] !== (b << 16) >>> 0) throw new Error(`bfloat16 0x${b.toString(16)} decoded to bits 0x${decodedBits[b]!.toString(16)}`)
      if (!sameValue(bfloat16BitsToFloat32(b), decoded[b]!)) throw new Error(`bfloat16 0x${b.toString(16)}: scalar and bulk differ`)
      const isSignallingNaN = (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0 && (b & 0x40) === 0
      if (back[b] !== (isSignallingNaN ? b | 0x40 : b)) throw new Error(`bfloat16 0x${b.toString(16)} came back as 0x${back[b]!.toString(16)}`)
    }
    expect(bfloat16BitsToFloat32(0x0001)).toBe(2 ** -133)
    expect(Object.is(bfloat16BitsToFloat32(0x8000), -0)).toBe(true)
  })
})
