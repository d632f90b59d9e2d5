// Percentiles by linear interpolation between closest ranks, numpy's default ("linear", type 7):
// for sorted x[0..n-1] the p-th percentile is at fractional index h = (n - 1) · p / 100.

import { checkSeries, MetricError } from "./errors.ts"

/** p-th percentile of already sorted (ascending) values; no checks. */
export const percentileOfSorted = (sorted: ArrayLike<number>, p: number): number => {
  const h = ((sorted.length - 1) * p) / 100
  const lo = Math.floor(h)
  const hi = Math.min(lo + 1, sorted.length - 1)
  const a = sorted[lo] as number
  const b = sorted[hi] as number
  return a + (h - lo) * (b - a)
}

export const percentile = (values: ArrayLike<number>, p: number): number => {
  checkSeries("percentile", "values", values)
  if (!(p >= 0 && p <= 100)) throw new MetricError("percentile", "invalid-value", `p is ${p}, expected a number from 0 to 100`)
  return percentileOfSorted(Float64Array.from(values).sort(), p)
}
