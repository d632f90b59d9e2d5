// float16/bfloat16 bit conversions against known encodings and an exhaustive half round trip.
import { describe, expect, test } from "bun:test"
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits } from "./float16.ts"

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
