// bench.json, whichever target measured it: per (batch, instances) configuration the qps and the
// latencies vamp prints. A target fills what it can measure and leaves the rest null — the CPU has
// no "ai utilize" or die memory counters, vamp prints no latency percentiles — so reports of every
// target share one schema (the conformance suite checks both against it).
import { z } from "zod"

const Micros = z.number().nonnegative()

export const BenchConfigReport = z.strictObject({
  batch: z.number().int().positive(),
  instances: z.number().int().positive(),
  /** Timed requests (batches). */
  requests: z.number().int().positive(),
  qps: z.number().positive(),
  /** End-to-end latency of one request, µs. */
  latency: z.strictObject({ avg: Micros, min: Micros, max: Micros, p50: Micros.nullable(), p90: Micros.nullable(), p95: Micros.nullable(), p99: Micros.nullable() }),
  /** Time inside the model, µs, when the runner knows it. */
  modelLatency: z.strictObject({ avg: Micros }).nullable(),
  /** vamp's "ai utilize (%)" and "die memory used (MB)"; null where the target has no such counter. */
  aiUtilizePercent: z.number().nonnegative().nullable(),
  dieMemoryMB: z.number().nonnegative().nullable(),
})
export type BenchConfigReport = z.infer<typeof BenchConfigReport>

export const BenchReport = z.strictObject({
  /** The target that ran it ("cpu", "vacc"). */
  target: z.string().min(1),
  /** "cpu", or the die ids, e.g. "0". */
  device: z.string().min(1),
  /** Distinct inputs cycled through. */
  inputs: z.number().int().positive(),
  configs: z.array(BenchConfigReport).min(1),
  /** Target-specific facts of the measurement (host, threads, tool versions, seqlen). */
  details: z.record(z.string(), z.unknown()),
})
export type BenchReport = z.infer<typeof BenchReport>
