// Proves float32 ↔ float16 conversion: exact edge cases (ties, subnormals, overflow, NaN), an
// exhaustive decode check and agreement with the engine's own Math.f16round on random values.

import { describe, expect, test } from "bun:test"
import { float16ToFloat32, float32BitsToFloat16Bits, float32ToFloat16 } from "./float16.ts"
import { seededRandom } from "./test-random.ts"

const toHalf = (x: number) => float32ToFloat16(new Float32Array([x]))[0]!
const fromHalf = (h: number) => float16ToFloat32(new Uint16Array([h]))[0]!

/** Value of half bits computed from the definition, independent of the code under test. */
const halfValue = (h: number): number => {
  const sign = h & 0x8000 ? -1 : 1
  const e = (h >>> 10) & 0x1f
  const m = h & 0x3ff
  if (e === 0x1f) return m === 0 ? sign * Infinity : NaN
  return e === 0 ? sign * m * 2 ** -24 : sign * (1 + m / 1024) * 2 ** (e - 15)
}

describe("float32 → float16", () => {
  test("exact values, signed zeros and infinities", () => {
    expect(toHalf(1)).toBe(0x3c00)
    expect(toHalf(-2)).toBe(0xc000)
    expect(toHalf(65504)).toBe(0x7bff)
    expect(toHalf(0)).toBe(0)
    expect(toHalf(-0)).toBe(0x8000)
    expect(toHalf(Infinity)).toBe(0x7c00)
    expect(toHalf(-Infinity)).toBe(0xfc00)
  })

  test("rounds to nearest, ties to even", () => {
    // Between 1 and 1 + 2^-10 the midpoint 1 + 2^-11 goes down to the even 1.
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00)
    // Between 1 + 2^-10 (odd) and 1 + 2^-9 the midpoint goes up to the even one.
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02)
    expect(toHalf(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01)
  })

  test("overflows to infinity from the midpoint above 65504", () => {
    expect(toHalf(65519.99)).toBe(0x7bff)
    expect(toHalf(65520)).toBe(0x7c00) // tie between 65504 (odd mantissa) and 65536 → up
    expect(toHalf(1e10)).toBe(0x7c00)
    expect(toHalf(-1e10)).toBe(0xfc00)
  })

  test("subnormals, their rounding and underflow to zero", () => {
    expect(toHalf(2 ** -24)).toBe(0x0001)
    expect(toHalf(2 ** -25)).toBe(0x0000) // tie between 0 and the smallest subnormal → 0 (even)
    expect(toHalf(2 ** -25 + 2 ** -40)).toBe(0x0001)
    expect(toHalf(3 * 2 ** -25)).toBe(0x0002) // tie between 1 and 2 → 2
    expect(toHalf(-(2 ** -26))).toBe(0x8000)
    expect(toHalf(1023 * 2 ** -24)).toBe(0x03ff)
    expect(toHalf(2 ** -14)).toBe(0x0400) // smallest normal
    expect(toHalf(2 ** -14 - 2 ** -26)).toBe(0x0400) // rounds up out of the subnormals
    expect(toHalf(1e-45)).toBe(0)
  })

  test("NaN stays NaN, whatever its payload", () => {
    const nans = new Uint32Array([0x7fc00000, 0x7f800001, 0xff800001, 0x7f802000])
    const halves = float32ToFloat16(new Float32Array(nans.buffer))
    for (const h of halves) expect(Number.isNaN(halfValue(h))).toBe(true)
    expect(float32BitsToFloat16Bits(0xff800001) & 0x8000).toBe(0x8000)
  })

  test("agrees with Math.f16round on a million random bit patterns", () => {
    const f16round = (Math as unknown as { f16round?: (x: number) => number }).f16round
    if (f16round === undefined) throw new Error("this engine lacks Math.f16round; the oracle for this test")
    const random = seededRandom(5)
    const bits = new Uint32Array(1_000_000)
    // Bias towards the half range (exponents near 127) as well as the whole float32 range.
    for (let i = 0; i < bits.length; i++) {
      const b = Math.floor(random() * 2 ** 32) >>> 0
      bits[i] = i % 2 === 0 ? b : (b & 0x807fffff) | ((100 + Math.floor(random() * 44)) << 23)
    }
    const floats = new Float32Array(bits.buffer)
    const halves = float32ToFloat16(floats)
    let mismatches = 0
    for (let i = 0; i < floats.length; i++) {
      const want = f16round(floats[i]!)
      const got = halfValue(halves[i]!)
      if (!(Object.is(want, got) || (Number.isNaN(want) && Number.isNaN(got)))) mismatches++
    }
    expect(mismatches).toBe(0)
  })
})

describe("float16 → float32", () => {
  test("every one of the 65536 half values decodes exactly", () => {
    const all = new Uint16Array(65536)
    for (let h = 0; h < 65536; h++) all[h] = h
    const decoded = float16ToFloat32(all)
    for (let h = 0; h < 65536; h++) {
      const want = halfValue(h)
      const got = decoded[h]!
      if (!(Object.is(want, got) || (Number.isNaN(want) && Number.isNaN(got)))) throw new Error(`half 0x${h.toString(16)}: want ${want}, got ${got}`)
    }
    expect(fromHalf(0x0001)).toBe(2 ** -24)
    expect(fromHalf(0x8000)).toBe(-0)
  })

  test("every non-NaN half survives a round trip through float32", () => {
    const all = new Uint16Array(65536)
    for (let h = 0; h < 65536; h++) all[h] = h
    const back = float32ToFloat16(float16ToFloat32(all))
    for (let h = 0; h < 65536; h++) {
      if (Number.isNaN(halfValue(h))) expect(Number.isNaN(halfValue(back[h]!))).toBe(true)
      else if (back[h] !== h) throw new Error(`half 0x${h.toString(16)} came back as 0x${back[h]!.toString(16)}`)
    }
  })

  test("writes into a caller's buffer and checks its length", () => {
    const out = new Float32Array(1)
    expect(float16ToFloat32(new Uint16Array([0x3c00]), out)).toBe(out)
    expect(out[0]).toBe(1)
    expect(() => float16ToFloat32(new Uint16Array(2), out)).toThrow(/output holds 1 elements, the input 2/)
  })
})
