// AP, MAP and MRR@10 against hand-worked queries, including the documented tie handling.

import { describe, expect, test } from "bun:test"
import { averagePrecision, MetricError, reciprocalRank, rerankingScores } from "./index.ts"

describe("average precision", () => {
  test("relevant at ranks 1 and 3 of 5: (1/1 + 2/3) / 2", () => {
    expect(averagePrecision([0.9, 0.8, 0.7, 0.6, 0.5], [1, 0, 1, 0, 0])).toBeCloseTo((1 + 2 / 3) / 2, 12)
  })

  test("input order does not matter, only scores", () => {
    expect(averagePrecision([0.6, 0.7, 0.9, 0.5, 0.8], [false, true, true, false, false])).toBeCloseTo((1 + 2 / 3) / 2, 12)
  })

  test("ties form one threshold, as sklearn's average_precision_score", () => {
    // {0.5, 0.5}: precision 1/2, recall +1/2; {0.2}: precision 2/3, recall +1/2.
    const expected = 0.5 * 0.5 + 0.5 * (2 / 3)
    expect(averagePrecision([0.5, 0.5, 0.2], [1, 0, 1])).toBeCloseTo(expected, 12)
    expect(averagePrecision([0.5, 0.5, 0.2], [0, 1, 1])).toBeCloseTo(expected, 12)
  })

  test("no relevant document is refused", () => {
    expect(() => averagePrecision([1, 2], [0, 0])).toThrow("averagePrecision: no document is labelled relevant")
    expect(() => averagePrecision([1, 2], [0])).toThrow(MetricError)
  })
})

describe("reciprocal rank", () => {
  test("first relevant at rank 4 gives 1/4", () => {
    expect(reciprocalRank([0.1, 0.9, 0.8, 0.3], [1, 0, 0, 0])).toBe(0.25)
  })

  test("beyond the cutoff gives 0", () => {
    const scores = Array.from({ length: 12 }, (_, i) => 12 - i)
    const relevance = scores.map((_, i) => (i === 11 ? 1 : 0))
    expect(reciprocalRank(scores, relevance)).toBe(0)
    expect(reciprocalRank(scores, relevance, 12)).toBeCloseTo(1 / 12, 12)
  })

  test("ties are pessimistic: a relevant document ranks after equal-scored non-relevant ones", () => {
    expect(reciprocalRank([0.5, 0.5, 0.2], [1, 0, 0])).toBe(0.5)
    expect(reciprocalRank([1, 1, 1, 1], [1, 0, 0, 0])).toBe(0.25)
  })
})

describe("rerankingScores", () => {
  test("MAP and MRR@10 average over queries", () => {
    const result = rerankingScores([
      { scores: [0.9, 0.8, 0.7, 0.6, 0.5], relevance: [1, 0, 1, 0, 0] },
      { scores: [0.1, 0.9, 0.8, 0.3], relevance: [1, 0, 0, 0] },
    ])
    expect(result.map).toBeCloseTo(((1 + 2 / 3) / 2 + 0.25) / 2, 12)
    expect(result.mrr_at_10).toBeCloseTo((1 + 0.25) / 2, 12)
    expect(result.queries).toBe(2)
  })

  test("names the query that cannot be scored", () => {
    expect(() => rerankingScores([{ scores: [1], relevance: [1] }, { scores: [1, 2], relevance: [0, 0] }])).toThrow("reranking: query 1: no document is labelled relevant")
    expect(() => rerankingScores([])).toThrow("reranking: no queries")
  })
})
