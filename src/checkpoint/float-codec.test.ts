// Proves the float16/bfloat16 conversions against independent oracles: the engine's Float16Array
// (when present) for float16 rounding, and exact arithmetic for decoding every bit pattern.
import { describe, expect, test } from "bun:test"
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32BitsToBfloat16Bits, float32BitsToFloat16Bits } from "./float-codec.ts"
import { seededValues } from "./testing/fixtures.ts"

const Float16ArrayOracle = (globalThis as { Float16Array?: new (values: ArrayLike<number>) => ArrayLike<number> & { buffer: ArrayBuffer } }).Float16Array

const bitsOf = (value: number): number => new Uint32Array(new Float32Array([value]).buffer)[0]!

describe("float16", () => {
  test("decodes every bit pattern: subnormals, normals, ±0, ±inf, NaN", () => {
    const decoded = float16BitsToFloat32(new Uint16Array(65536).map((_, i) => i))
    expect(decoded[0x0001]).toBe(2 ** -24)
    expect(decoded[0x03ff]).toBe(1023 * 2 ** -24)
    expect(decoded[0x0400]).toBe(2 ** -14)
    expect(decoded[0x3c00]).toBe(1)
    expect(decoded[0x7bff]).toBe(65504)
    expect(decoded[0x7c00]).toBe(Infinity)
    expect(decoded[0xfc00]).toBe(-Infinity)
    expect(Object.is(decoded[0x8000], -0)).toBe(true)
    expect(Number.isNaN(decoded[0x7e00]!)).toBe(true)
    // Encoding each decoded value gives its bit pattern back (NaNs aside).
    for (let bits = 0; bits < 65536; bits++) {
      if (Number.isNaN(decoded[bits]!)) continue
      expect(float32BitsToFloat16Bits(bitsOf(decoded[bits]!))).toBe(bits)
    }
  })

  test("encoding a NaN gives a NaN", () => {
    expect(float32BitsToFloat16Bits(0x7fc00000) & 0x7c00).toBe(0x7c00)
    expect(float32BitsToFloat16Bits(0x7fc00000) & 0x3ff).not.toBe(0)
    expect(float32BitsToFloat16Bits(0x7f800001) & 0x3ff).not.toBe(0)
  })

  test.skipIf(Float16ArrayOracle === undefined)("rounds like the engine's Float16Array across normal, subnormal and overflow ranges", () => {
    const random = seededValues(11, 20000)
    const values = Array.from(random, (v, i) => v * 2 ** ((i % 48) - 30))
    const oracle = new Uint16Array(new Float16ArrayOracle!(values).buffer)
    values.forEach((value, i) => expect(float32BitsToFloat16Bits(bitsOf(value))).toBe(oracle[i]!))
  })
})

describe("bfloat16", () => {
  test("rounds to nearest even and keeps infinities and NaN", () => {
    expect(float32BitsToBfloat16Bits(bitsOf(1))).toBe(0x3f80)
    expect(float32BitsToBfloat16Bits(0x3f808000)).toBe(0x3f80) // tie, even stays
    expect(float32BitsToBfloat16Bits(0x3f818000)).toBe(0x3f82) // tie, odd rounds up
    expect(float32BitsToBfloat16Bits(0x3f808001)).toBe(0x3f81)
    expect(float32BitsToBfloat16Bits(bitsOf(-Infinity))).toBe(0xff80)
    expect(float32BitsToBfloat16Bits(0x7f7fffff)).toBe(0x7f80) // max float rounds to inf
    const nan = float32BitsToBfloat16Bits(0x7f800001)
    expect(Number.isNaN(bfloat16BitsToFloat32(new Uint16Array([nan]))[0]!)).toBe(true)
    expect(Array.from(bfloat16BitsToFloat32(new Uint16Array([0x3f80, 0x0001, 0x8000])))).toEqual([1, 2 ** -133, -0])
  })
})
