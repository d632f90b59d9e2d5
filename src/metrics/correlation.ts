// Pearson and Spearman correlation in float64, matching scipy.stats.pearsonr / spearmanr
// (Spearman = Pearson of average ranks, so tied values share the mean of their positions).

import { checkSameLength, checkSeries, MetricError } from "./errors.ts"

const checkPair = (metric: string, x: ArrayLike<number>, y: ArrayLike<number>): number => {
  const n = checkSeries(metric, "x", x)
  checkSeries(metric, "y", y)
  checkSameLength(metric, { label: "x", length: n }, { label: "y", length: y.length })
  if (n < 2) throw new MetricError(metric, "empty", `needs at least 2 pairs, got ${n}`)
  return n
}

const mean = (values: ArrayLike<number>): number => {
  let sum = 0
  for (let i = 0; i < values.length; i++) sum += values[i] as number
  return sum / values.length
}

const isConstant = (values: ArrayLike<number>): boolean => {
  for (let i = 1; i < values.length; i++) if (values[i] !== values[0]) return false
  return true
}

const pearsonUnchecked = (metric: string, x: ArrayLike<number>, y: ArrayLike<number>): number => {
  // Compared exactly rather than via the variance, which rounding leaves slightly above zero
  // for constant inputs such as [0.1, 0.1, 0.1].
  const constantX = isConstant(x)
  const constantY = isConstant(y)
  if (constantX || constantY) {
    const which = constantX && constantY ? "x and y are" : constantX ? "x is" : "y is"
    throw new MetricError(metric, "constant-input", `${which} constant (zero variance), so the correlation is undefined`)
  }
  const mx = mean(x)
  const my = mean(y)
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (let i = 0; i < x.length; i++) {
    const dx = (x[i] as number) - mx
    const dy = (y[i] as number) - my
    sxy += dx * dy
    sxx += dx * dx
    syy += dy * dy
  }
  if (!(sxx > 0 && syy > 0)) throw new MetricError(metric, "constant-input", "the variance underflows to zero (values too close together), so the correlation is undefined")
  // Rounding can push |r| a hair past 1; scipy clips the same way.
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)))
}

export const pearson = (x: ArrayLike<number>, y: ArrayLike<number>): number => {
  checkPair("pearson", x, y)
  return pearsonUnchecked("pearson", x, y)
}

/** 1-based ranks in input order; a group of equal values gets the mean of the positions it spans. */
export const averageRanks = (values: ArrayLike<number>): Float64Array => {
  const n = values.length
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (values[a] as number) - (values[b] as number))
  const ranks = new Float64Array(n)
  let start = 0
  while (start < n) {
    let end = start + 1
    while (end < n && values[order[end] as number] === values[order[start] as number]) end++
    // Positions start..end-1 (0-based) hold equal values: ranks start+1..end, mean (start+1+end)/2.
    const shared = (start + 1 + end) / 2
    for (let k = start; k < end; k++) ranks[order[k] as number] = shared
    start = end
  }
  return ranks
}

export const spearman = (x: ArrayLike<number>, y: ArrayLike<number>): number => {
  checkPair("spearman", x, y)
  return pearsonUnchecked("spearman", averageRanks(x), averageRanks(y))
}
