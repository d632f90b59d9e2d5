// Activation calibration across a stream of batches: one collector per tensor name, then a range
// per tensor by the chosen method — "max" (exact min/max), "percentile" or "entropy" (symmetric
// thresholds from an |x| histogram).

import { z } from "zod"
import { AbsHistogram } from "./abs-histogram.ts"
import { entropyThreshold } from "./entropy.ts"
import { percentileThreshold } from "./percentile.ts"
import { describeIssue, formatIssuePath } from "../schema/index.ts"
import { QuantError } from "./quant-error.ts"
import { RangeObserver } from "./range-observer.ts"

export const CalibrationOptionsSchema = z
  .object({
    method: z.enum(["max", "percentile", "entropy"]).default("max"),
    /** Share of |x| values the percentile threshold covers, in (0, 100]. */
    percentile: z.number().gt(0).lte(100).default(99.999),
    /** Histogram bins over [0, max|x|] for percentile and entropy. */
    bins: z.number().int().min(2).max(1 << 20).default(2048),
    /** Quantized levels of |x| the entropy search assumes (128 for int8). */
    quantizedBins: z.number().int().min(2).default(128),
  })
  .strict()
  .refine((o) => o.bins >= o.quantizedBins, { message: "must not exceed bins", path: ["quantizedBins"] })

export type CalibrationOptions = z.input<typeof CalibrationOptionsSchema>
export type ResolvedCalibrationOptions = z.output<typeof CalibrationOptionsSchema>
export type CalibrationMethod = ResolvedCalibrationOptions["method"]

/** Validates user calibration settings; the error names the offending field. */
export const parseCalibrationOptions = (input: unknown): ResolvedCalibrationOptions => {
  const parsed = CalibrationOptionsSchema.safeParse(input ?? {})
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]!
  const field = issue.path.length > 0 ? formatIssuePath(issue.path) : "calibration options"
  const detail =
    issue.path[0] === "percentile"
      ? `must be a number in (0, 100], got ${String((input as Record<string, unknown>).percentile)}`
      : describeIssue(issue, input, { schema: CalibrationOptionsSchema, subject: false })
  throw new QuantError("bad-option", field, `invalid calibration option: ${detail}`)
}

/**
 * What calibration decided for one tensor. "range" is the exact observed [min, max]; "threshold"
 * is a symmetric clip T, with the observed min/max kept so an asymmetric scheme can use
 * [max(min, −T), min(max, T)] (see calibratedRange).
 */
export type CalibrationResult =
  | { readonly kind: "range"; readonly min: number; readonly max: number }
  | { readonly kind: "threshold"; readonly threshold: number; readonly min: number; readonly max: number }

/** The [min, max] to quantize a tensor to: the observed range, clipped by a threshold if any. */
export const calibratedRange = (result: CalibrationResult): { min: number; max: number } =>
  result.kind === "range"
    ? { min: result.min, max: result.max }
    : { min: Math.max(result.min, -result.threshold), max: Math.min(result.max, result.threshold) }

/** Collects activation batches per tensor and turns them into calibration results. */
export class ActivationCalibrator {
  readonly options: ResolvedCalibrationOptions
  private readonly ranges = new Map<string, RangeObserver>()
  private readonly histograms = new Map<string, AbsHistogram>()

  constructor(options?: CalibrationOptions) {
    this.options = parseCalibrationOptions(options)
  }

  observe(tensor: string, data: Float32Array): void {
    if (this.options.method === "max") {
      let observer = this.ranges.get(tensor)
      if (observer === undefined) this.ranges.set(tensor, (observer = new RangeObserver()))
      observer.observe(data)
    } else {
      let histogram = this.histograms.get(tensor)
      if (histogram === undefined) this.histograms.set(tensor, (histogram = new AbsHistogram(this.options.bins)))
      histogram.observe(data)
    }
  }

  tensors(): string[] {
    return [...(this.options.method === "max" ? this.ranges : this.histograms).keys()]
  }

  result(tensor: string): CalibrationResult {
    const { method } = this.options
    if (method === "max") {
      const observer = this.ranges.get(tensor)
      if (observer === undefined) throw new QuantError("no-observations", tensor, "this tensor was never observed")
      if (observer.count === 0) throw new QuantError("no-observations", tensor, `no finite values were observed (${observer.nonFinite} NaN/inf)`)
      return { kind: "range", min: observer.min, max: observer.max }
    }
    const histogram = this.histograms.get(tensor)
    if (histogram === undefined) throw new QuantError("no-observations", tensor, "this tensor was never observed")
    if (histogram.total === 0) throw new QuantError("no-observations", tensor, `no finite values were observed (${histogram.nonFinite} NaN/inf)`)
    const threshold =
      method === "percentile"
        ? percentileThreshold(histogram, this.options.percentile, tensor)
        : entropyThreshold(histogram, this.options.quantizedBins, tensor).threshold
    return { kind: "threshold", threshold, min: histogram.min, max: histogram.max }
  }

  results(): Map<string, CalibrationResult> {
    return new Map(this.tensors().map((t) => [t, this.result(t)]))
  }
}
