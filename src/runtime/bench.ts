// Throughput and latency of a model runner over real inputs, for each batch size and instance
// count: warm-up, then N requests kept in flight (one per instance), timed end to end and inside
// the model, reported as qps and µs avg/min/max/p50/p90/p95/p99 (the fields vamp reports).
import { latencyStats, type LatencyStats } from "../metrics/index.ts"
import type { BundleSession } from "./bundle-session.ts"
import { RuntimeError } from "./errors.ts"
import type { RunRequest } from "./model-session.ts"

/** Something that runs batches with `instances` sessions at once. */
export interface BenchRunner<I> {
  readonly instances: number
  /** Turns one batch of inputs into a ready request (tokenization, padding); not timed. */
  prepare(batch: readonly I[]): unknown
  /** One timed request; returns the time spent inside the model when the runner knows it. */
  run(prepared: unknown): Promise<{ readonly modelMicros?: number }>
  close(): Promise<void>
}

/** Opens a runner with the given number of concurrent instances. */
export type BenchTarget<I> = (instances: number) => Promise<BenchRunner<I>>

export interface BenchOptions {
  readonly batchSizes: readonly number[]
  /** Instance counts to try; default [1]. */
  readonly instances?: readonly number[]
  /** Untimed requests per instance before measuring; default 2. */
  readonly warmup?: number
  /** Timed requests per configuration (default 20 when `seconds` is not given). */
  readonly iterations?: number
  /** Instead of (or as a cap on) iterations: stop starting requests after this many seconds. */
  readonly seconds?: number
  /** Stops the benchmark when aborted (Ctrl-C): no request starts after it; throws the AbortError. */
  readonly signal?: AbortSignal
}

/** End-to-end latency of one request in µs, as metrics computes it (without count and qps). */
export type LatencySummary = Omit<LatencyStats, "count" | "qps">

export interface BenchConfigResult {
  readonly batch: number
  readonly instances: number
  /** Timed requests. */
  readonly requests: number
  /** Inputs per second over the timed wall-clock span. */
  readonly qps: number
  /** End-to-end latency of one request in µs (hand-off to the session, run, outputs back). */
  readonly latency: LatencySummary
  /** Time inside the model's run in µs, when the runner reports it. */
  readonly modelLatency: { readonly avg: number } | null
}

export interface BenchResult {
  /** "cpu" for the local runtime; vamp reports accelerator device ids here. */
  readonly device: string
  readonly inputs: number
  readonly warmup: number
  readonly configs: readonly BenchConfigResult[]
}

const checkPositive = (value: number | undefined, name: string): void => {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) throw new RuntimeError("invalid-option", `benchmark: option "${name}": ${value}, expected a positive number`)
}

/** The i-th batch of size `batch`, cycling through the inputs. */
const batchOf = <I>(inputs: readonly I[], batch: number, i: number): I[] =>
  Array.from({ length: batch }, (_, j) => inputs[(i * batch + j) % inputs.length] as I)

const measure = async <I>(runner: BenchRunner<I>, inputs: readonly I[], batch: number, options: BenchOptions, warmup: number): Promise<BenchConfigResult> => {
  const distinct = Math.ceil(inputs.length / batch)
  const prepared = Array.from({ length: distinct }, (_, i) => runner.prepare(batchOf(inputs, batch, i)))
  const lanes = runner.instances
  await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
    for (let w = 0; w < warmup; w++) {
      options.signal?.throwIfAborted()
      await runner.run(prepared[(lane + w * lanes) % distinct])
    }
  }))

  const maxRequests = options.iterations ?? (options.seconds === undefined ? 20 : Number.POSITIVE_INFINITY)
  const deadline = options.seconds === undefined ? Number.POSITIVE_INFINITY : performance.now() + options.seconds * 1000
  const e2e: number[] = []
  const model: number[] = []
  let started = 0
  const begin = performance.now()
  // One request in flight per instance: each lane starts its next request when the last returns.
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (started < maxRequests && (performance.now() < deadline || started < lanes)) {
      options.signal?.throwIfAborted()
      const request = prepared[started++ % distinct]
      const t0 = performance.now()
      const { modelMicros } = await runner.run(request)
      e2e.push((performance.now() - t0) * 1000)
      if (modelMicros !== undefined) model.push(modelMicros)
    }
  }))
  const wallMicros = (performance.now() - begin) * 1000
  const { count, qps, ...latency } = latencyStats(e2e, { batchSize: batch, wallMicros })
  return {
    batch,
    instances: lanes,
    requests: count,
    qps,
    latency,
    modelLatency: model.length === e2e.length ? { avg: model.reduce((a, b) => a + b, 0) / model.length } : null,
  }
}

/** Measures every (batch size × instance count) configuration; opens one runner per instance count. */
export const benchmark = async <I>(target: BenchTarget<I>, inputs: readonly I[], options: BenchOptions): Promise<BenchResult> => {
  if (inputs.length === 0) throw new RuntimeError("invalid-input", "benchmark: no inputs")
  if (options.batchSizes.length === 0) throw new RuntimeError("invalid-option", `benchmark: option "batchSizes" is empty`)
  for (const b of options.batchSizes) if (!Number.isInteger(b) || b < 1) throw new RuntimeError("invalid-option", `benchmark: batch size ${b}, expected a positive integer`)
  const instanceCounts = options.instances ?? [1]
  for (const n of instanceCounts) if (!Number.isInteger(n) || n < 1) throw new RuntimeError("invalid-option", `benchmark: instance count ${n}, expected a positive integer`)
  checkPositive(options.iterations, "iterations")
  checkPositive(options.seconds, "seconds")
  const warmup = options.warmup ?? 2
  if (!Number.isInteger(warmup) || warmup < 0) throw new RuntimeError("invalid-option", `benchmark: option "warmup": ${warmup}, expected an integer ≥ 0`)

  const configs: BenchConfigResult[] = []
  for (const instances of instanceCounts) {
    const runner = await target(instances)
    try {
      for (const batch of options.batchSizes) configs.push(await measure(runner, inputs, batch, options, warmup))
    } finally {
      await runner.close()
    }
  }
  return { device: "cpu", inputs: inputs.length, warmup, configs }
}

/** A bench target over a loaded bundle's tokenizer and session pool: texts for embedders, [query, passage] pairs for rerankers. */
export const bundleBenchTarget = <I extends string | readonly [string, string]>(open: (instances: number) => Promise<BundleSession>): BenchTarget<I> => async (instances) => {
  const session = await open(instances)
  const outputs = session.config.io.outputs
  // Only the primary output: what a caller needs (the dense vector or the logit).
  const fetches = [outputs.logits ?? outputs.dense ?? outputs.tokens!]
  return {
    instances: session.pool.instances,
    prepare(batch) {
      const tokens =
        session.config.task === "reranker"
          ? session.tokenizer.encodePairs(batch as readonly (readonly [string, string])[], { padding: "longest" })
          : session.tokenizer.encode(batch as readonly string[], { padding: "longest" })
      return session.request(tokens, fetches)
    },
    run: async (prepared) => ({ modelMicros: (await session.pool.run(prepared as RunRequest)).modelMicros }),
    close: () => session.close(),
  }
}
