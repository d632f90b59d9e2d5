// Percentile calibration: the smallest symmetric threshold T such that at least `percentile` % of
// the observed |x| fall in [0, T], read off an |x| histogram (so exact to one bin width).

import type { AbsHistogram } from "./abs-histogram.ts"
import { QuantError } from "./quant-error.ts"

export const checkPercentile = (percentile: number): void => {
  if (!(percentile > 0 && percentile <= 100)) {
    throw new QuantError("bad-option", "percentile", `must be in (0, 100], got ${percentile}`)
  }
}

/** Upper edge of the bin where the cumulative count reaches the percentile, capped at max|x|. */
export const percentileThreshold = (histogram: AbsHistogram, percentile: number, subject?: string): number => {
  checkPercentile(percentile)
  if (histogram.total === 0) throw new QuantError("no-observations", subject, "no finite values were observed")
  if (histogram.range === 0) return 0
  const target = (histogram.total * percentile) / 100
  const counts = histogram.counts
  let cumulative = 0
  let k = 0
  for (; k < counts.length - 1; k++) {
    cumulative += counts[k]!
    if (cumulative >= target) break
  }
  return Math.min((k + 1) * histogram.binWidth, histogram.maxAbs)
}
