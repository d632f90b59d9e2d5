// Entropy (KL-divergence) calibration after TensorRT: pick the symmetric threshold whose clipped
// |x| distribution P is best approximated, in KL(P||Q), by its own 128-level quantization Q.

import type { AbsHistogram } from "./abs-histogram.ts"
import { QuantError } from "./quant-error.ts"

/**
 * Q is mixed with this much of a uniform distribution over P's support, so a Q that gives zero
 * mass to a few outliers P keeps (a clipped tail) costs a finite, mass-proportional penalty
 * rather than infinity. Same order as the 1e-4 smoothing of MXNet's and TensorRT's versions.
 */
const smoothing = 1e-4

export interface EntropySearch {
  readonly threshold: number
  /** The number of histogram bins kept below the threshold. */
  readonly keptBins: number
  readonly divergence: number
}

/**
 * Symmetric threshold minimising KL(P||Q); `levels` is 128 for int8 (the levels of |x|). Each
 * candidate keeps the first `kept` bins: P piles the outliers beyond them onto the last kept bin;
 * Q quantizes the kept bins (without the pile) to `levels` groups and spreads each group's mass
 * over its bins where P is non-zero. Clipping costs KL through the pile Q cannot see; a wide
 * threshold costs KL through coarse groups. Candidates run from `levels` bins to the last occupied
 * one, so the threshold is never below max|x|·levels/bins.
 */
export const entropyThreshold = (histogram: AbsHistogram, levels = 128, subject?: string): EntropySearch => {
  if (!Number.isInteger(levels) || levels < 2) throw new QuantError("bad-option", "quantizedBins", `must be an integer ≥ 2, got ${levels}`)
  if (histogram.total === 0) throw new QuantError("no-observations", subject, "no finite values were observed")
  const counts = histogram.counts
  let used = counts.length
  while (used > 1 && counts[used - 1] === 0) used--
  const maxAbs = histogram.maxAbs
  // With no more occupied bins than levels every bin gets its own level: nothing to gain by clipping.
  if (histogram.range === 0 || used <= levels) return { threshold: maxAbs, keptBins: used, divergence: 0 }

  // Prefix sums make each group's contribution O(1): count, Σ h·ln h and non-empty bins.
  const n = used
  const sum = new Float64Array(n + 1)
  const sumHLogH = new Float64Array(n + 1)
  const nonEmpty = new Int32Array(n + 1)
  for (let k = 0; k < n; k++) {
    const h = counts[k]!
    sum[k + 1] = sum[k]! + h
    sumHLogH[k + 1] = sumHLogH[k]! + (h > 0 ? h * Math.log(h) : 0)
    nonEmpty[k + 1] = nonEmpty[k]! + (h > 0 ? 1 : 0)
  }
  const total = sum[n]!
  const logTotal = Math.log(total)

  let best: EntropySearch = { threshold: maxAbs, keptBins: n, divergence: Infinity }
  for (let kept = levels; kept <= n; kept++) {
    const inRange = sum[kept]!
    if (inRange === 0) continue
    const outliers = total - inRange
    const lastBin = counts[kept - 1]!
    const lastP = lastBin + outliers // unnormalised P of the last kept bin
    const support = nonEmpty[kept - 1]! + (lastP > 0 ? 1 : 0)
    const uniform = smoothing / support
    let divergence = 0
    for (let g = 0; g < levels; g++) {
      const start = Math.floor((g * kept) / levels)
      const end = Math.floor(((g + 1) * kept) / levels)
      const isLast = end === kept
      // P over the group (unnormalised), with the outlier pile on the last kept bin.
      const groupQMass = sum[end]! - sum[start]!
      const groupPMass = groupQMass + (isLast ? outliers : 0)
      let groupPLogP = sumHLogH[end]! - sumHLogH[start]!
      let groupSupport = nonEmpty[end]! - nonEmpty[start]!
      if (isLast) {
        groupPLogP += (lastP > 0 ? lastP * Math.log(lastP) : 0) - (lastBin > 0 ? lastBin * Math.log(lastBin) : 0)
        groupSupport += (lastP > 0 ? 1 : 0) - (lastBin > 0 ? 1 : 0)
      }
      if (groupSupport === 0) continue
      // Q spreads the group's in-range mass evenly over the bins where P is non-zero.
      const q = (1 - smoothing) * (groupQMass / inRange / groupSupport) + uniform
      // Σ p ln(p/q) with p = h/total: (Σ h ln h)/total − (mass/total)(ln total + ln q).
      divergence += groupPLogP / total - (groupPMass / total) * (logTotal + Math.log(q))
    }
    if (divergence < best.divergence) best = { threshold: Math.min(kept * histogram.binWidth, maxAbs), keptBins: kept, divergence }
  }
  return best
}
