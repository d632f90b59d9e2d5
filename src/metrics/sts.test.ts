// Similarities and the MTEB-style STS scores on small embeddings worked out by hand.

import { describe, expect, test } from "bun:test"
import {
  cosineSimilarity,
  euclideanDistance,
  manhattanDistance,
  MetricError,
  normaliseGold,
  rowCosineSimilarities,
  stsScores,
} from "./index.ts"

describe("similarity and distances", () => {
  test("hand values", () => {
    expect(cosineSimilarity([1, 0], [1, 1])).toBeCloseTo(Math.SQRT1_2, 12)
    expect(cosineSimilarity([1, 2], [-2, -4])).toBeCloseTo(-1, 12)
    expect(manhattanDistance([1, 2, 3], [4, 0, 3])).toBe(5)
    expect(euclideanDistance([1, 2], [4, 6])).toBe(5)
  })

  test("row-wise cosine accepts a [rows, dim] tensor or a list of rows", () => {
    const tensor = { shape: [2, 2], data: Float32Array.from([1, 0, 0, 2]) }
    expect(Array.from(rowCosineSimilarities(tensor, [[2, 0], [1, 1]]))).toEqual([1, expect.closeTo(Math.SQRT1_2, 7)])
  })

  test("a zero vector, mismatched rows or widths are refused with the row named", () => {
    expect(() => rowCosineSimilarities([[1, 0], [0, 0]], [[1, 0], [1, 0]])).toThrow("cosine: row 1: first vector is all zeros")
    expect(() => rowCosineSimilarities([[1, 0]], [[1, 0], [1, 0]])).toThrow(MetricError)
    expect(() => rowCosineSimilarities([[1, 0]], [[1, 0, 0]])).toThrow("embeddings1 (dim) has 2 values but embeddings2 (dim) has 3")
    expect(() => rowCosineSimilarities({ shape: [2, 3], data: new Float32Array(5) }, [[1, 0, 0]])).toThrow("embeddings1 has 5 values, expected 2×3")
  })
})

describe("stsScores", () => {
  // Row-wise: cosine = [1, 1/√2, 0]; manhattan = [0, 1, 2]; euclidean = [0, 1, √2].
  const embeddings1 = [[1, 0], [1, 0], [1, 0]]
  const embeddings2 = [[1, 0], [1, 1], [0, 1]]
  const gold = [5, 2.5, 0]

  test("reports MTEB's six correlations with cosine Spearman as main score", () => {
    const scores = stsScores(embeddings1, embeddings2, gold, { minScore: 0, maxScore: 5 })
    // gold → [1, 0.5, 0]; Sxy = 0.5, Sxx = 0.5, Syy = Σc² - 3c̄² = (3 - √2)/3.
    expect(scores.cosine_pearson).toBeCloseTo(0.5 / Math.sqrt((3 - Math.SQRT2) / 6), 12)
    expect(scores.cosine_spearman).toBeCloseTo(1, 12)
    // Negated distances rise with gold, so correlations are positive: manhattan [0,-1,-2] is exactly linear.
    expect(scores.manhattan_pearson).toBeCloseTo(1, 12)
    expect(scores.manhattan_spearman).toBeCloseTo(1, 12)
    // euclidean: Pearson of gold [1, 0.5, 0] with [0, -1, -√2]; dg = [0.5, 0, -0.5], Sxx = 0.5.
    const e = [0, -1, -Math.SQRT2]
    const me = (e[0]! + e[1]! + e[2]!) / 3
    const syy = e.reduce((s, v) => s + (v - me) ** 2, 0)
    expect(scores.euclidean_pearson).toBeCloseTo((0.5 * (0 - me) - 0.5 * (-Math.SQRT2 - me)) / Math.sqrt(0.5 * syy), 12)
    expect(scores.euclidean_spearman).toBeCloseTo(1, 12)
    expect(scores.main_score).toBe(scores.cosine_spearman)
    expect(scores.pairs).toBe(3)
  })

  test("normalising gold by the scale does not change the correlations", () => {
    const a = stsScores(embeddings1, embeddings2, gold)
    const b = stsScores(embeddings1, embeddings2, gold, { minScore: -5, maxScore: 10 })
    expect(a.cosine_pearson).toBeCloseTo(b.cosine_pearson, 12)
    expect(Array.from(normaliseGold([0, 1, 1, 0]))).toEqual([0, 1, 1, 0])
    expect(Array.from(normaliseGold([1, 4], { minScore: 0, maxScore: 5 }))).toEqual([0.2, 0.8])
  })

  test("constant gold or a gold/embedding length mismatch is refused", () => {
    expect(() => stsScores(embeddings1, embeddings2, [3, 3, 3])).toThrow("sts: gold score range is [3, 3], expected max > min")
    expect(() => stsScores(embeddings1, embeddings2, [1, 2])).toThrow("sts: gold has 2 values but embeddings (rows) has 3")
  })
})
