// Latency statistics in the form the accelerator profiler reports them (microseconds, avg/min/max
// and p50/p90/p95/p99) plus throughput. Percentiles interpolate linearly like numpy's default.

import { checkSeries, MetricError } from "./errors.ts"
import { percentileOfSorted } from "./percentile.ts"

export interface LatencyStats {
  readonly count: number
  readonly avg: number
  readonly min: number
  readonly max: number
  readonly p50: number
  readonly p90: number
  readonly p95: number
  readonly p99: number
  /** Items (samples × batch size) per second of wall time. */
  readonly qps: number
}

export interface LatencyOptions {
  /** Items each measured call processed (the batch size); default 1. */
  readonly batchSize?: number
  /**
   * Wall-clock duration of the whole run in microseconds. Give it when calls overlapped
   * (several sessions or workers); by default calls are taken as sequential and the wall time
   * is the sum of their latencies.
   */
  readonly wallMicros?: number
}

/** Statistics of per-call latencies given in microseconds. */
export const latencyStats = (latenciesMicros: ArrayLike<number>, options?: LatencyOptions): LatencyStats => {
  const count = checkSeries("latency", "latencies", latenciesMicros)
  const sorted = Float64Array.from(latenciesMicros).sort()
  if ((sorted[0] as number) < 0) throw new MetricError("latency", "invalid-value", `a latency is ${sorted[0]} µs, expected ≥ 0`)
  const batchSize = options?.batchSize ?? 1
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new MetricError("latency", "invalid-value", `batchSize is ${batchSize}, expected a positive integer`)
  const total = sorted.reduce((a, b) => a + b, 0)
  const wall = options?.wallMicros ?? total
  if (!(wall > 0 && Number.isFinite(wall))) throw new MetricError("latency", "invalid-value", `wall time is ${wall} µs, expected a positive number`)
  return {
    count,
    avg: total / count,
    min: sorted[0] as number,
    max: sorted[count - 1] as number,
    p50: percentileOfSorted(sorted, 50),
    p90: percentileOfSorted(sorted, 90),
    p95: percentileOfSorted(sorted, 95),
    p99: percentileOfSorted(sorted, 99),
    qps: (count * batchSize) / (wall / 1e6),
  }
}
