// float16/bfloat16 bit conversions against known encodings and an exhaustive half round trip.
import { describe, expect, test } from "bun:test"
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ArrayToFloat16Bits, float32ToBfloat16Bits, float32ToFloat16Bits } from "./float16.ts"

describe("float16 conversion", () => {
  test("known values encode to their IEEE half bit patterns", () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff],
      [2 ** -24, 0x0001], [2 ** -14, 0x0400], [Infinity, 0x7c00], [-Infinity, 0xfc00],
    ]
    for (const [value, bits] of cases) expect([value, float32ToFloat16Bits(value)]).toEqual([value, bits])
  })

  test("rounds to nearest even, overflows to infinity, keeps NaN", () => {
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00) // tie → even (down)
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02) // tie → even (up)
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00)
    expect(float32ToFloat16Bits(2 ** -26)).toBe(0x0000)
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true)
  })

  test("every finite half round-trips through float32", () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00) continue
      const back = float32ToFloat16Bits(float16BitsToFloat32(bits))
      if (back !== bits) throw new Error(`0x${bits.toString(16)} came back as 0x${back.toString(16)}`)
    }
  })
})

describe("float32ArrayToFloat16Bits", () => {
  test("gives float32ToFloat16Bits' bits for every sign/exponent/high mantissa with tie, near-tie and NaN-payload low bits", () => {
    const lows = [0x0000, 0x0fff, 0x1000, 0x1001, 0x2000, 0x3000, 0xffff]
    const patterns = new Uint32Array(65536 * lows.length)
    for (let high = 0; high < 65536; high++) for (const [j, low] of lows.entries()) patterns[high * lows.length + j] = ((high << 16) | low) >>> 0
    const values = new Float32Array(patterns.buffer)
    const bulk = new Uint16Array(values.length)
    float32ArrayToFloat16Bits(values, bulk)
    for (let i = 0; i < values.length; i++) {
      const one = float32ToFloat16Bits(values[i]!)
      if (bulk[i] !== one) throw new Error(`0x${patterns[i]!.toString(16)}: bulk 0x${bulk[i]!.toString(16)}, scalar 0x${one.toString(16)}`)
    }
    // A subarray at an offset reads its own elements.
    const tail = new Uint16Array(3)
    float32ArrayToFloat16Bits(new Float32Array([7, 1, -2, 0.5]).subarray(1), tail)
    expect(Array.from(tail)).toEqual([0x3c00, 0xc000, 0x3800])
    expect(() => float32ArrayToFloat16Bits(new Float32Array(2), new Uint16Array(3))).toThrow(RangeError)
  })
})

describe("bfloat16 conversion", () => {
  test("truncates with round-to-nearest-even and decodes exactly", () => {
    expect(float32ToBfloat16Bits(1)).toBe(0x3f80)
    expect(float32ToBfloat16Bits(-2)).toBe(0xc000)
    expect(float32ToBfloat16Bits(1 + 2 ** -8)).toBe(0x3f80) // tie → even
    expect(float32ToBfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82)
    expect(bfloat16BitsToFloat32(0x3f80)).toBe(1)
    expect(Number.isNaN(bfloat16BitsToFloat32(float32ToBfloat16Bits(NaN)))).toBe(true)
  })
})
