// Streaming histogram of |x| over [0, maxAbs] with a fixed number of equal bins, for percentile and
// entropy calibration. When a batch exceeds the covered range, the bin width grows by an integer
// factor and old bins merge whole into new ones, so re-binning never has to split a count.

import { QuantError } from "./quant-error.ts"
import { finiteRange } from "./range-observer.ts"

export class AbsHistogram {
  readonly bins: number
  /** counts[k] = number of finite values with |x| in [k·binWidth, (k+1)·binWidth). */
  readonly counts: Float64Array
  /** Upper edge of the last bin; 0 until a non-zero value arrives (zeros collect in bin 0 meanwhile). */
  range = 0
  min = Infinity
  max = -Infinity
  total = 0
  nonFinite = 0

  constructor(bins = 2048) {
    if (!Number.isInteger(bins) || bins < 2) throw new QuantError("bad-option", "bins", `must be an integer ≥ 2, got ${bins}`)
    this.bins = bins
    this.counts = new Float64Array(bins)
  }

  get binWidth(): number {
    return this.range / this.bins
  }

  /** Largest finite |x| seen. */
  get maxAbs(): number {
    return this.total === 0 ? 0 : Math.max(-this.min, this.max)
  }

  observe(data: Float32Array): void {
    // Pass 1: the batch's range, so the bins can be widened before counting.
    const { min, max, nonFinite } = finiteRange(data)
    const finite = data.length - nonFinite
    this.nonFinite += nonFinite
    if (finite === 0) return
    this.min = Math.min(this.min, min)
    this.max = Math.max(this.max, max)
    this.total += finite
    this.cover(Math.max(-min, max))

    // Pass 2: count. Without a width every finite value seen so far is 0.
    const counts = this.counts
    if (this.range === 0) {
      counts[0]! += finite
      return
    }
    const perWidth = this.bins / this.range
    const last = this.bins - 1
    if (nonFinite === 0) {
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!
        const k = ((v < 0 ? -v : v) * perWidth) | 0
        counts[k > last ? last : k]! += 1
      }
    } else {
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!
        if (v - v !== 0) continue
        const k = ((v < 0 ? -v : v) * perWidth) | 0
        counts[k > last ? last : k]! += 1
      }
    }
  }

  /** Widens the bins (by a whole factor) until they cover [0, maxAbs]. */
  private cover(maxAbs: number): void {
    if (maxAbs <= this.range) return
    if (this.range === 0) {
      this.range = maxAbs
      return
    }
    // The range itself is stored (not recomputed from the width) so a batch with the same maximum
    // never triggers a spurious widening through rounding.
    const factor = Math.ceil(maxAbs / this.range)
    const counts = this.counts
    // Target index k/factor never exceeds k, so one ascending pass merges in place.
    for (let k = 1; k < this.bins; k++) {
      const c = counts[k]!
      if (c === 0) continue
      counts[k] = 0
      counts[Math.floor(k / factor)]! += c
    }
    this.range *= factor
  }
}
