// Proves the calibration methods on distributions with known answers: max is exact, percentile
// finds the quantile, entropy clips long tails but keeps a uniform range; and the fast entropy
// search equals a direct evaluation of KL(P||Q).

import { describe, expect, test } from "bun:test"
import { AbsHistogram } from "./abs-histogram.ts"
import { ActivationCalibrator, calibratedRange, parseCalibrationOptions } from "./calibration.ts"
import { entropyThreshold } from "./entropy.ts"
import { percentileThreshold } from "./percentile.ts"
import { QuantError } from "./quant-error.ts"
import { gaussian, seededRandom } from "./test-random.ts"

const expectQuantError = (run: () => unknown, subject: string, pattern: RegExp) => {
  let caught: unknown
  try {
    run()
  } catch (e) {
    caught = e
  }
  expect(caught).toBeInstanceOf(QuantError)
  expect((caught as QuantError).subject).toBe(subject)
  expect((caught as QuantError).message).toMatch(pattern)
}

/** Splits data into batches, as activations arrive during calibration. */
const observeInBatches = (calibrator: ActivationCalibrator, tensor: string, data: Float32Array, batch: number) => {
  for (let i = 0; i < data.length; i += batch) calibrator.observe(tensor, data.subarray(i, i + batch))
}

describe("max", () => {
  test("gives the exact min and max over all batches", () => {
    const random = seededRandom(3)
    const data = new Float32Array(100_000)
    for (let i = 0; i < data.length; i++) data[i] = (random() - 0.4) * 10
    data[77_777] = -13.25
    data[5] = 21.5
    const calibrator = new ActivationCalibrator({ method: "max" })
    observeInBatches(calibrator, "layer.3.out", data, 4096)
    expect(calibrator.result("layer.3.out")).toEqual({ kind: "range", min: -13.25, max: 21.5 })
    expect([...calibrator.results().keys()]).toEqual(["layer.3.out"])
  })
})

describe("percentile", () => {
  const integers = new Float32Array(1000).map((_, i) => i + 1)

  test("the 99th percentile of the integers 1..1000 is 990, to within one bin", () => {
    const h = new AbsHistogram()
    h.observe(integers)
    const t = percentileThreshold(h, 99)
    expect(t).toBeGreaterThanOrEqual(990)
    expect(t).toBeLessThan(990 + h.binWidth)
    expect(percentileThreshold(h, 50)).toBeLessThanOrEqual(500 + h.binWidth)
    expect(percentileThreshold(h, 100)).toBe(1000)
  })

  test("covers both signs through |x| and streams in batches", () => {
    const calibrator = new ActivationCalibrator({ method: "percentile", percentile: 99 })
    const signed = integers.map((v, i) => (i % 2 === 0 ? -v : v))
    observeInBatches(calibrator, "x", signed, 100)
    const result = calibrator.result("x")
    if (result.kind !== "threshold") throw new Error("expected a threshold")
    // Batches grow the range 10 times over, so allow the coarser bins that leaves.
    expect(result.threshold).toBeGreaterThanOrEqual(990)
    expect(result.threshold).toBeLessThan(992)
    expect([result.min, result.max]).toEqual([-999, 1000])
  })

  test("the default 99.999 keeps nearly everything of a Gaussian", () => {
    const calibrator = new ActivationCalibrator({ method: "percentile" })
    expect(calibrator.options.percentile).toBe(99.999)
    const g = gaussian(seededRandom(9))
    const data = new Float32Array(200_000).map(() => g())
    calibrator.observe("x", data)
    const result = calibrator.result("x")
    if (result.kind !== "threshold") throw new Error("expected a threshold")
    // Two-sided 99.999% of N(0,1) is 4.42σ; 200k samples make the tail noisy.
    expect(result.threshold).toBeGreaterThan(3.9)
    expect(result.threshold).toBeLessThan(5)
  })

  test("a percentile outside (0, 100] is an error naming the field", () => {
    for (const percentile of [0, -1, 100.5, Number.NaN]) {
      expectQuantError(() => new ActivationCalibrator({ method: "percentile", percentile }), "percentile", /\(0, 100\]/)
      const h = new AbsHistogram()
      h.observe(integers)
      expectQuantError(() => percentileThreshold(h, percentile), "percentile", /\(0, 100\]/)
    }
  })
})

describe("entropy", () => {
  test("clips a Gaussian with a few huge outliers far below its max", () => {
    const g = gaussian(seededRandom(21))
    const data = new Float32Array(1_000_000).map(() => g())
    for (let i = 0; i < 10; i++) data[i * 99_991] = i % 2 === 0 ? 1000 : -1000
    const calibrator = new ActivationCalibrator({ method: "entropy" })
    observeInBatches(calibrator, "h", data, 250_000)
    const result = calibrator.result("h")
    if (result.kind !== "threshold") throw new Error("expected a threshold")
    expect(result.max).toBe(1000)
    expect(result.threshold).toBeLessThan(100)
    // …while keeping the Gaussian body.
    expect(result.threshold).toBeGreaterThan(4)
  })

  test("keeps (nearly) the whole range of a uniform distribution", () => {
    const random = seededRandom(22)
    const data = new Float32Array(1_000_000).map(() => (random() * 2 - 1) * 3)
    const h = new AbsHistogram()
    h.observe(data)
    const { threshold } = entropyThreshold(h)
    expect(threshold).toBeGreaterThan(0.97 * h.maxAbs)
    expect(threshold).toBeLessThanOrEqual(h.maxAbs)
  })

  test("the prefix-sum search equals a direct KL(P||Q) evaluation", () => {
    const random = seededRandom(23)
    const h = new AbsHistogram(96)
    const g = gaussian(random)
    h.observe(new Float32Array(5000).map(() => g() * (random() < 0.02 ? 8 : 1)))
    const levels = 8
    const fast = entropyThreshold(h, levels)
    let bestKept = 0
    let bestDivergence = Infinity
    let used = h.bins
    while (h.counts[used - 1] === 0) used--
    for (let kept = levels; kept <= used; kept++) {
      const d = directDivergence(h.counts, kept, levels)
      if (d < bestDivergence) [bestKept, bestDivergence] = [kept, d]
    }
    expect(fast.keptBins).toBe(bestKept)
    expect(fast.divergence).toBeCloseTo(bestDivergence, 10)
    expect(bestKept).toBeLessThan(used)
  })

  test("an all-zero tensor calibrates to threshold 0 and an unseen one is an error", () => {
    const calibrator = new ActivationCalibrator({ method: "entropy" })
    calibrator.observe("zeros", new Float32Array(10))
    expect(calibrator.result("zeros")).toEqual({ kind: "threshold", threshold: 0, min: 0, max: 0 })
    expectQuantError(() => calibrator.result("never"), "never", /never observed/)
    calibrator.observe("nan", new Float32Array([NaN]))
    expectQuantError(() => calibrator.result("nan"), "nan", /no finite values/)
  })
})

/** KL(P||Q) built element by element, the way the method is described (same smoothing). */
const directDivergence = (counts: Float64Array, kept: number, levels: number): number => {
  const total = counts.reduce((a, b) => a + b, 0)
  const p = Array.from(counts.subarray(0, kept))
  p[kept - 1]! += total - p.reduce((a, b) => a + b, 0)
  const inRange = counts.subarray(0, kept).reduce((a, b) => a + b, 0)
  const q = new Array<number>(kept).fill(0)
  for (let g = 0; g < levels; g++) {
    const start = Math.floor((g * kept) / levels)
    const end = Math.floor(((g + 1) * kept) / levels)
    let mass = 0
    let support = 0
    for (let k = start; k < end; k++) {
      mass += counts[k]!
      if (p[k]! > 0) support++
    }
    for (let k = start; k < end; k++) if (p[k]! > 0) q[k] = mass / inRange / support
  }
  const support = p.filter((v) => v > 0).length
  let kl = 0
  for (let k = 0; k < kept; k++) {
    if (p[k]! === 0) continue
    const pk = p[k]! / total
    kl += pk * Math.log(pk / ((1 - 1e-4) * q[k]! + 1e-4 / support))
  }
  return kl
}

describe("options and results", () => {
  test("defaults and field-named errors for bad options", () => {
    expect(parseCalibrationOptions(undefined)).toEqual({ method: "max", percentile: 99.999, bins: 2048, quantizedBins: 128 })
    expectQuantError(() => parseCalibrationOptions({ method: "kl" }), "method", /invalid calibration option/)
    expectQuantError(() => parseCalibrationOptions({ bins: 64 }), "quantizedBins", /must not exceed bins/)
    expectQuantError(() => parseCalibrationOptions({ percentile: "99" }), "percentile", /must be a number in \(0, 100\], got 99/)
    expectQuantError(() => parseCalibrationOptions({ percentil: 99 }), "calibration options", /percentil/)
  })

  test("calibratedRange clips the observed range by the threshold", () => {
    expect(calibratedRange({ kind: "threshold", threshold: 5, min: -2, max: 40 })).toEqual({ min: -2, max: 5 })
    expect(calibratedRange({ kind: "range", min: -2, max: 40 })).toEqual({ min: -2, max: 40 })
  })
})
