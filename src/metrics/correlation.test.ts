// Pearson and Spearman against hand-worked values, including ties, and their refusals.

import { describe, expect, test } from "bun:test"
import { averageRanks, MetricError, pearson, spearman } from "./index.ts"

const refusal = (f: () => unknown): MetricError => {
  try {
    f()
  } catch (error) {
    expect(error).toBeInstanceOf(MetricError)
    return error as MetricError
  }
  throw new Error("expected a MetricError")
}

describe("pearson", () => {
  test("matches a hand-worked example", () => {
    // dx = [-2,-1,0,1,2], dy = [-2,0,1,0,1]: Sxy = 6, Sxx = 10, Syy = 6, r = 6 / √60.
    expect(pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])).toBeCloseTo(6 / Math.sqrt(60), 12)
  })

  test("is ±1 for exact linear relations", () => {
    expect(pearson([1, 2, 3], [10, 20, 30])).toBeCloseTo(1, 12)
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12)
  })

  test("constant input is refused, even when rounding would leave a tiny variance", () => {
    expect(refusal(() => pearson([0.1, 0.1, 0.1], [1, 2, 3])).message).toBe("pearson: x is constant (zero variance), so the correlation is undefined")
    expect(refusal(() => pearson([1, 2, 3], [7, 7, 7])).reason).toBe("constant-input")
  })

  test("length mismatch, empty, a single pair and NaN are refused", () => {
    expect(refusal(() => pearson([1, 2, 3], [1, 2])).message).toBe("pearson: x has 3 values but y has 2, expected the same length")
    expect(refusal(() => pearson([], [])).reason).toBe("empty")
    expect(refusal(() => pearson([1], [2])).reason).toBe("empty")
    expect(refusal(() => pearson([1, Number.NaN], [1, 2])).message).toBe("pearson: x[1] is NaN, expected a finite number")
  })
})

describe("spearman", () => {
  test("without ties equals 1 - 6Σd²/(n(n²-1))", () => {
    // ranks of y = [1,3,2,5,4], Σd² = 4, ρ = 1 - 24/120.
    expect(spearman([1, 2, 3, 4, 5], [10, 30, 20, 50, 40])).toBeCloseTo(0.8, 12)
  })

  test("with ties uses average ranks (not the no-ties shortcut)", () => {
    // y ranks = [1, 2.5, 2.5, 4, 5]; Pearson with [1..5]: Sxy = 9.5, Sxx = 10, Syy = 9.5 → √0.95.
    // The shortcut formula would give 1 - 6·0.5/120 = 0.975 instead.
    expect(spearman([1, 2, 3, 4, 5], [1, 2, 2, 3, 4])).toBeCloseTo(Math.sqrt(0.95), 12)
  })

  test("average ranks give tied values the mean of their positions", () => {
    expect(Array.from(averageRanks([10, 20, 20, 5, 20]))).toEqual([2, 4, 4, 1, 4])
  })

  test("is invariant to monotone transforms", () => {
    const x = [0.3, 1.7, 0.9, 2.2, 1.1]
    expect(spearman(x, x.map(Math.exp))).toBeCloseTo(1, 12)
  })

  test("constant input is refused", () => {
    expect(refusal(() => spearman([4, 4, 4], [1, 2, 3])).reason).toBe("constant-input")
  })
})
