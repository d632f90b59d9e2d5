// Percentiles (numpy's linear definition), latency statistics and fidelity summaries by hand.

import { describe, expect, test } from "bun:test"
import { embeddingFidelity, latencyStats, MetricError, percentile, rerankerFidelity } from "./index.ts"

describe("percentile", () => {
  test("interpolates linearly at (n-1)·p/100, like numpy", () => {
    const oneToTen = Array.from({ length: 10 }, (_, i) => i + 1)
    expect(percentile(oneToTen, 50)).toBeCloseTo(5.5, 12)
    expect(percentile(oneToTen, 90)).toBeCloseTo(9.1, 12)
    expect(percentile(oneToTen, 95)).toBeCloseTo(9.55, 12)
    expect(percentile(oneToTen, 99)).toBeCloseTo(9.91, 12)
    // Unsorted input; h = 1.6 → 20 + 0.6·(35 - 20).
    expect(percentile([40, 15, 50, 35, 20], 40)).toBeCloseTo(29, 12)
    expect(percentile([7], 99)).toBe(7)
    expect(percentile([3, 1, 2], 0)).toBe(1)
    expect(percentile([3, 1, 2], 100)).toBe(3)
  })

  test("refuses empty input and p outside [0, 100]", () => {
    expect(() => percentile([], 50)).toThrow(MetricError)
    expect(() => percentile([1], 101)).toThrow("percentile: p is 101, expected a number from 0 to 100")
  })
})

describe("latencyStats", () => {
  test("sequential calls: qps from the summed latency", () => {
    const stats = latencyStats([400, 100, 300, 200])
    expect(stats).toEqual({ count: 4, avg: 250, min: 100, max: 400, p50: 250, p90: 370, p95: 385, p99: 397, qps: 4000 })
  })

  test("batch size and a measured wall time", () => {
    expect(latencyStats([400, 100, 300, 200], { batchSize: 8 }).qps).toBeCloseTo(32000, 9)
    expect(latencyStats([400, 100, 300, 200], { wallMicros: 500 }).qps).toBeCloseTo(8000, 9)
  })

  test("refuses empty, negative and a bad batch size", () => {
    expect(() => latencyStats([])).toThrow("latency: latencies is empty")
    expect(() => latencyStats([5, -1])).toThrow("latency: a latency is -1 µs, expected ≥ 0")
    expect(() => latencyStats([5], { batchSize: 0 })).toThrow("batchSize is 0")
  })
})

describe("fidelity", () => {
  test("embedding fidelity summarises per-row cosine", () => {
    // cosines = [1, 1/√2, 1]; p1 at h = 0.02 between 1/√2 and 1.
    const f = embeddingFidelity([[1, 0], [0, 1], [1, 1]], [[2, 0], [1, 1], [3, 3]])
    expect(f.mean).toBeCloseTo((2 + Math.SQRT1_2) / 3, 12)
    expect(f.min).toBeCloseTo(Math.SQRT1_2, 12)
    expect(f.p1).toBeCloseTo(Math.SQRT1_2 + 0.02 * (1 - Math.SQRT1_2), 12)
    expect(f.rows).toBe(3)
  })

  test("reranker fidelity: rank agreement and the largest score change", () => {
    const f = rerankerFidelity([1, 2, 3, 4], [1.1, 2.2, 2.9, 4.5])
    expect(f.spearman).toBeCloseTo(1, 12)
    expect(f.maxAbsDiff).toBeCloseTo(0.5, 12)
    expect(f.meanAbsDiff).toBeCloseTo((0.1 + 0.2 + 0.1 + 0.5) / 4, 12)
    expect(f.referenceStd).toBeCloseTo(Math.sqrt(1.25), 12)
    expect(f.count).toBe(4)
    expect(rerankerFidelity([1, 2, 3], [3, 2, 1]).spearman).toBeCloseTo(-1, 12)
  })

  test("constant reranker scores are refused rather than NaN", () => {
    expect(() => rerankerFidelity([1, 2, 3], [0, 0, 0])).toThrow("spearman: y is constant")
  })
})
