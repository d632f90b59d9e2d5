// benchmark and formatVampReport: requests per configuration, warm-up, one request in flight per
// instance, the stats it derives, the vamp layout line by line, and a real run over a fixture bundle.
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { benchmark, bundleBenchTarget, type BenchResult, type BenchRunner } from "./bench.ts"
import { writeBundle } from "./bundle.ts"
import { openBundleSession } from "./bundle-session.ts"
import { RuntimeError } from "./errors.ts"
import { fixtureTexts, writeEncoderFixture } from "./testing/encoder-fixture.ts"
import { formatVampReport } from "./vamp-report.ts"

const root = await mkdtemp(join(tmpdir(), "kiln-runtime-bench-"))
afterAll(() => rm(root, { recursive: true, force: true }))

/** A runner that records what it was asked to do and answers after a short sleep. */
const recordingTarget = () => {
  const log = { opened: [] as number[], prepared: [] as string[][], runs: 0, maxInFlight: 0, closed: 0 }
  let inFlight = 0
  const target = async (instances: number): Promise<BenchRunner<string>> => {
    log.opened.push(instances)
    return {
      instances,
      prepare: (batch) => {
        log.prepared.push([...batch])
        return batch
      },
      run: async () => {
        log.runs++
        log.maxInFlight = Math.max(log.maxInFlight, ++inFlight)
        await Bun.sleep(1)
        inFlight--
        return { modelMicros: 500 }
      },
      close: async () => {
        log.closed++
      },
    }
  }
  return { log, target }
}

describe("benchmark", () => {
  test("runs warm-up plus the timed requests per configuration, cycling through the inputs, one in flight per instance", async () => {
    const { log, target } = recordingTarget()
    const result = await benchmark(target, ["a", "b", "c", "d", "e"], { batchSizes: [1, 2], instances: [1, 3], warmup: 2, iterations: 6 })
    expect(log.opened).toEqual([1, 3])
    expect(log.closed).toBe(2)
    // instances 1: (2 warm-up + 6) × 2 batch sizes; instances 3: (3 × 2 warm-up + 6) × 2.
    expect(log.runs).toBe(16 + 24)
    expect(log.maxInFlight).toBe(3)
    expect(log.prepared.slice(5, 8)).toEqual([["a", "b"], ["c", "d"], ["e", "a"]])
    expect(result.configs.map((c) => [c.batch, c.instances, c.requests])).toEqual([[1, 1, 6], [2, 1, 6], [1, 3, 6], [2, 3, 6]])
    for (const c of result.configs) {
      expect(c.modelLatency).toEqual({ avg: 500 })
      expect(c.latency.min).toBeLessThanOrEqual(c.latency.p50)
      expect(c.latency.p50).toBeLessThanOrEqual(c.latency.p99)
      expect(c.latency.p99).toBeLessThanOrEqual(c.latency.max)
      expect(c.qps).toBeGreaterThan(0)
    }
  })

  test("an aborted benchmark starts no request after the abort; requests already running finish", async () => {
    const { log, target } = recordingTarget()
    const controller = new AbortController()
    const counting: typeof target = async (instances) => {
      const runner = await target(instances)
      return {
        ...runner,
        run: async (request) => {
          const result = await runner.run(request)
          if (log.runs === 5) controller.abort()
          return result
        },
      }
    }
    const error = await benchmark(counting, ["a", "b"], { batchSizes: [1, 2], instances: [2], warmup: 1, iterations: 1000, signal: controller.signal }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect((error as Error).name).toBe("AbortError")
    // Two lanes: the one that aborted starts nothing more; the other finishes the request it had running.
    expect(log.runs).toBeLessThanOrEqual(6)
    expect(log.closed).toBe(1)
  })

  test("seconds bounds the run instead of a request count; every instance still runs once", async () => {
    const { log, target } = recordingTarget()
    const result = await benchmark(target, ["a"], { batchSizes: [1], instances: [2], warmup: 0, seconds: 0.000001 })
    expect(result.configs[0]!.requests).toBe(2)
    expect(log.runs).toBe(2)
  })

  test("bad options are named", async () => {
    const { target } = recordingTarget()
    await expect(benchmark(target, ["a"], { batchSizes: [0] })).rejects.toThrow("batch size 0")
    await expect(benchmark(target, ["a"], { batchSizes: [1], instances: [0] })).rejects.toThrow("instance count 0")
    await expect(benchmark(target, ["a"], { batchSizes: [1], iterations: -1 })).rejects.toThrow(`option "iterations"`)
    await expect(benchmark(target, [], { batchSizes: [1] })).rejects.toBeInstanceOf(RuntimeError)
  })

  test("a fixture bundle measured in this thread and in two workers", async () => {
    const model = await writeEncoderFixture(join(root, "model"), { task: "embedding" })
    const bundle = (await writeBundle(model.dir, join(root, "bundle"))).dir
    const target = bundleBenchTarget<string>((instances) => openBundleSession(bundle, { threads: 2, instances }))
    const result = await benchmark(target, fixtureTexts(20), { batchSizes: [1, 8], instances: [1, 2], warmup: 1, iterations: 4 })
    expect(result.configs).toHaveLength(4)
    for (const c of result.configs) {
      expect(c.requests).toBe(4)
      expect(c.modelLatency!.avg).toBeGreaterThan(0)
      expect(c.modelLatency!.avg).toBeLessThanOrEqual(c.latency.max)
    }
  }, 15_000)
})

describe("formatVampReport", () => {
  const result: BenchResult = {
    device: "cpu",
    inputs: 100,
    warmup: 2,
    configs: [
      {
        batch: 1,
        instances: 1,
        requests: 50,
        qps: 18.40634,
        latency: { avg: 916291.4, min: 58991.6, max: 925643, p50: 1, p90: 2, p95: 3, p99: 4 },
        modelLatency: { avg: 53459.2 },
      },
      { batch: 8, instances: 2, requests: 10, qps: 100, latency: { avg: 10.5, min: 9, max: 12, p50: 1, p90: 2, p95: 3, p99: 4 }, modelLatency: null },
    ],
  }

  test("prints vamp's layout, with n/a for the counters a CPU does not have", () => {
    expect(formatVampReport(result)).toBe(
      [
        "- number of instances in each device: 1",
        "  devices: [cpu]",
        "  batch size: 1",
        "  throughput (qps): 18.4063",
        "  ai utilize (%): n/a",
        "  die memory used (MB): n/a",
        "  e2e latency (us):",
        "    avg latency: 916291",
        "    min latency: 58992",
        "    max latency: 925643",
        "  model latency (us):",
        "    avg latency: 53459",
        "- number of instances in each device: 2",
        "  devices: [cpu]",
        "  batch size: 8",
        "  throughput (qps): 100.0000",
        "  ai utilize (%): n/a",
        "  die memory used (MB): n/a",
        "  e2e latency (us):",
        "    avg latency: 11",
        "    min latency: 9",
        "    max latency: 12",
        "  model latency (us):",
        "    avg latency: n/a",
        "",
      ].join("\n"),
    )
  })
})
