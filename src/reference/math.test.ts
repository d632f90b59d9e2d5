// Proves the float64 building blocks against values computed independently (tables, by hand).

import { describe, expect, test } from "bun:test"
import { erf, geluErf, geluTanh, l2Normalize, layerNorm, linear, matrix, softmaxInPlace } from "./math.ts"

describe("erf and GELU", () => {
  test("erf matches tabulated values to ~1e-15", () => {
    const table: [number, number][] = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [3.5, 0.9999992569016276],
      [5.9, 0.9999999999999999],
    ]
    for (const [x, expected] of table) {
      expect(Math.abs(erf(x) - expected)).toBeLessThan(2e-15)
      expect(Math.abs(erf(-x) + expected)).toBeLessThan(2e-15)
    }
    expect(erf(7)).toBe(1)
    expect(erf(-30)).toBe(-1)
  })

  test("GELU (erf) and GELU (tanh) at ±1", () => {
    // x·Φ(x) with Φ(1) = 0.8413447460685429
    expect(geluErf(1)).toBeCloseTo(0.8413447460685429, 14)
    expect(geluErf(-1)).toBeCloseTo(-0.15865525393145707, 14)
    expect(geluErf(0)).toBe(0)
    expect(geluTanh(1)).toBeCloseTo(0.8411919906082768, 14)
  })
})

describe("LayerNorm, Linear, softmax, normalize", () => {
  test("LayerNorm of [1, 2, 3, 4] is (x − 2.5)/√1.25, then γ and β", () => {
    const y = layerNorm(matrix(1, 4, Float64Array.of(1, 2, 3, 4)), Float64Array.of(1, 1, 2, 1), Float64Array.of(0, 0, 0, 10), 0)
    const s = Math.sqrt(1.25)
    expect([...y.data]).toEqual([-1.5 / s, -0.5 / s, (2 * 0.5) / s, 1.5 / s + 10])
  })

  test("Linear uses PyTorch [out, in] weights", () => {
    // W = [[1, 2], [3, 4], [5, 6]] (3 out, 2 in), x = [1, 10], b = [0, 1, 2]
    const y = linear(matrix(1, 2, Float64Array.of(1, 10)), Float64Array.of(1, 2, 3, 4, 5, 6), Float64Array.of(0, 1, 2), 3)
    expect([...y.data]).toEqual([21, 44, 67])
  })

  test("softmax of [0, ln 3] is [1/4, 3/4] and ignores a float32-min entry", () => {
    const v = Float64Array.of(0, Math.log(3), -3.4028234663852886e38)
    softmaxInPlace(v, 0, 3)
    expect(v[0]).toBeCloseTo(0.25, 15)
    expect(v[1]).toBeCloseTo(0.75, 15)
    expect(v[2]).toBe(0)
  })

  test("L2 normalise of [3, 4] is [0.6, 0.8]; a zero vector stays zero", () => {
    expect([...l2Normalize(Float64Array.of(3, 4))]).toEqual([0.6, 0.8])
    expect([...l2Normalize(Float64Array.of(0, 0))]).toEqual([0, 0])
  })
})
