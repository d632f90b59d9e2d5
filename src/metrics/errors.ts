// The one error type of the metrics: inputs for which a metric is undefined (empty, mismatched
// lengths, zero variance, zero vectors, no relevant document) fail loudly instead of yielding NaN.

export type MetricErrorReason = "empty" | "length-mismatch" | "constant-input" | "zero-vector" | "no-relevant" | "invalid-value"

export class MetricError extends Error {
  override readonly name = "MetricError"
  readonly reason: MetricErrorReason
  /** The metric that refused its input, e.g. "pearson". */
  readonly metric: string

  constructor(metric: string, reason: MetricErrorReason, detail: string) {
    super(`${metric}: ${detail}`)
    this.metric = metric
    this.reason = reason
  }
}

/** Checks a numeric series is non-empty and finite; returns its length. */
export const checkSeries = (metric: string, label: string, values: ArrayLike<number>): number => {
  if (values.length === 0) throw new MetricError(metric, "empty", `${label} is empty, expected at least one value`)
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number
    if (!Number.isFinite(v)) throw new MetricError(metric, "invalid-value", `${label}[${i}] is ${v}, expected a finite number`)
  }
  return values.length
}

export const checkSameLength = (metric: string, a: { label: string; length: number }, b: { label: string; length: number }): void => {
  if (a.length !== b.length) {
    throw new MetricError(metric, "length-mismatch", `${a.label} has ${a.length} values but ${b.label} has ${b.length}, expected the same length`)
  }
}
