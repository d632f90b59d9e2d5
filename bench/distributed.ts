// Benchmark: distributed execution through BullMQ on Redis (issue 16), against real servers on
// loopback — redis-server, nginx WebDAV as the remote cache — and `kiln worker` processes.
//  1. Scaling: eight independent single-thread steps (dynamic-int8 quantizations of a seeded
//     bge-small-shaped export, bench/pipelines/quantize-sweep.ts) on one worker vs two workers, in
//     the same run, alternating per round; export and calibration are built once beforehand and
//     put on the remote cache, so each measured run is the eight quantize steps (forced) plus
//     their dispatch, the workers' input downloads and output uploads. Each worker starts fresh
//     per measurement (its first job loads the step's module: included, paid in parallel by two).
//     Goal: two workers ≥ 1.8× one worker.
//  2. Dispatch overhead: an empty step through the queue, one at a time, 500 jobs: from the
//     scheduler handing the miss to the executor to the entry being in its local cache (enqueue,
//     worker pick-up, the worker's remote re-check, commit and upload, the scheduler's pull).
//     Goals: p50 ≤ 15 ms, p99 ≤ 50 ms.
//     Headline: the median of the per-round ratios (one-worker time / two-worker time).
//   bun run bench/distributed.ts [--rounds 1] [--jobs 500] [--only scaling|dispatch]
import { cpSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Semaphore from "effect/Semaphore"
import { lookupAction } from "../src/cache/action-cache.ts"
import { cacheLayout } from "../src/cache/layout.ts"
import { executePipeline } from "../src/cli/index.ts"
import { Executor, pipeline } from "../src/engine/index.ts"
import { empty } from "../src/executors/bullmq/testing/steps.ts"
import { redisUnavailable, startRedis } from "../src/executors/bullmq/testing/redis.ts"
import { openExecutor } from "../src/executors/index.ts"
import { openStore, pushAction } from "../src/store/index.ts"
import { nginxUnavailable, startNginx } from "../src/store/testing/nginx.ts"
import { printMachine, writeResult } from "./machine.ts"
import { quantizeSweep, SWEEP } from "./pipelines/quantize-sweep.ts"
import { median } from "./measure.ts"

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "1" },
    jobs: { type: "string", default: "500" },
    only: { type: "string" },
    help: { type: "boolean", default: false },
  },
})

if (values.help) {
  console.log(`bun run bench/distributed.ts [--rounds 1] [--jobs 500] [--only scaling|dispatch]
  scaling: eight independent single-thread quantize steps on one kiln worker vs two, same run,
           alternating per round (goal ≥ 1.8×)
  dispatch: an empty step through the queue, one at a time, --jobs times: p50 / p99 from handing
           the miss to the executor to its entry in the local cache (goals ≤ 15 ms / ≤ 50 ms)
  Starts redis-server and nginx (WebDAV) on loopback and the workers itself; nothing is kept.`)
  process.exit(0)
}

const unavailable = redisUnavailable() ?? nginxUnavailable()
if (unavailable !== undefined) {
  console.error(`cannot run: ${unavailable}`)
  process.exit(1)
}

const REPO = resolve(import.meta.dir, "..")
const KEY = "bench-distributed-signing-key"
const env = { ...process.env, KILN_CACHE_SIGNING_KEY: KEY }
const work = mkdtempSync(join(tmpdir(), "kiln-bench-dist-"))
const redis = await startRedis(join(work, "redis"))
const nginx = await startNginx(join(work, "nginx"))
const remote = `${nginx.url}/bench`
const quiet = { write: () => true }

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!

const startWorker = async (name: string, cacheDir: string, remoteUrl = remote) => {
  const proc = Bun.spawn(
    ["bun", "run", join(REPO, "src/cli/kiln.ts"), "worker", "--queue", redis.url, "--remote-cache", remoteUrl, "--cache-dir", cacheDir, "--name", name],
    { env, stdout: "pipe", stderr: "pipe" },
  )
  let output = ""
  void (async () => {
    for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
      output += new TextDecoder().decode(chunk)
      if (process.env.BENCH_TRACE) process.stderr.write(new TextDecoder().decode(chunk))
    }
  })()
  for (let i = 0; i < 1200 && !output.includes(" serving "); i++) {
    if (proc.exitCode !== null) throw new Error(`worker ${name} exited: ${output}${await new Response(proc.stderr as ReadableStream).text()}`)
    await Bun.sleep(50)
  }
  return { stop: async () => void (proc.kill("SIGTERM"), await proc.exited) }
}

const results: Record<string, unknown> = {}
printMachine()
console.log("note: other processes on this machine (e.g. concurrent test suites) load it; compare ratios from the same run")

try {
  if (values.only === undefined || values.only === "scaling") {
    const scheduler = join(work, "scheduler")
    const file = join(work, "quantize-sweep.ts")
    // Export and calibration once, locally; then onto the remote, where the workers will look.
    const prep = await executePipeline(quantizeSweep, file, ["--cache-dir", scheduler, "--until", "calibrate", "--json"], { stdout: quiet, stderr: quiet })
    if (prep.exitCode !== 0) throw new Error("preparing the export failed")
    const store = openStore(remote, env)
    if ("error" in store) throw new Error(store.error)
    const layout = cacheLayout(scheduler)
    for (const step of prep.summary!.steps as { key: string; status: string }[]) {
      const entry = step.key !== "" ? lookupAction(layout, step.key) : undefined
      if (entry !== undefined) await Effect.runPromise(pushAction(layout, { store, signingKey: KEY, upload: true }, entry, (line) => Effect.sync(() => console.warn(line))))
    }
    const force = SWEEP.flatMap((s) => ["--force", s.id])
    const measure = async (workers: number, round: number) => {
      const started = await Promise.all(
        Array.from({ length: workers }, (_, i) => {
          const cache = join(work, `w${workers}-${round}-${i}`)
          // The scheduler's persisted code-digest state: same files, same machine (a worker would compute the same).
          cpSync(join(scheduler, "code.v1"), join(cache, "code.v1"), { recursive: true })
          return startWorker(`w${i + 1}`, cache)
        }),
      )
      const t = performance.now()
      const r = await executePipeline(quantizeSweep, file, ["--cache-dir", scheduler, "--executor", redis.url, "--remote-cache", remote, "--json", ...force], { stdout: quiet, stderr: quiet, env })
      const seconds = (performance.now() - t) / 1000
      for (const w of started) await w.stop()
      if (r.exitCode !== 0) throw new Error(`the sweep on ${workers} worker(s) failed`)
      const steps = (r.summary!.steps as { id: string; ms: number; host?: string }[]).filter((s) => s.id.startsWith("q-"))
      const hosts = [...new Set(steps.map((s) => s.host))].sort()
      console.log(`  round ${round}: ${workers} worker(s): ${seconds.toFixed(1)} s wall; steps ${(steps.reduce((a, s) => a + s.ms, 0) / 1000).toFixed(1)} s in total on ${hosts.join(", ")}`)
      return seconds
    }
    const one: number[] = []
    const two: number[] = []
    console.log(`scaling: ${SWEEP.length} quantize steps, one worker vs two`)
    for (let round = 1; round <= Number(values.rounds); round++) {
      if (round % 2 === 1) {
        one.push(await measure(1, round))
        two.push(await measure(2, round))
      } else {
        two.push(await measure(2, round))
        one.push(await measure(1, round))
      }
    }
    // Each round's ratio compares runs made minutes apart under the same background load; the headline is their median.
    const ratios = one.map((t, i) => t / two[i]!)
    const speedup = median(ratios)
    console.log(`scaling: one worker ${median(one).toFixed(1)} s, two workers ${median(two).toFixed(1)} s; per-round speed-ups ${ratios.map((r) => r.toFixed(2)).join(", ")}: median ${speedup.toFixed(2)}× (goal ≥ 1.8×)`)
    results.scaling = { steps: SWEEP.length, oneWorkerSeconds: one, twoWorkersSeconds: two, perRoundSpeedup: ratios, speedup }
  }

  if (values.only === undefined || values.only === "dispatch") {
    const jobs = Number(values.jobs)
    const dispatchRemote = `${remote}/dispatch`
    const worker = await startWorker("w-dispatch", join(work, "dispatch-worker"), dispatchRemote)
    const store = openStore(dispatchRemote, env)
    if ("error" in store) throw new Error(store.error)
    const tier = { store, signingKey: KEY, upload: true }
    const opened = await openExecutor(redis.url, tier, env)
    if ("error" in opened) throw new Error(opened.error)
    const latencies: number[] = []
    const one = Semaphore.makeUnsafe(1)
    // One miss at a time, so each latency is one job's round trip and not time spent queued behind others.
    const timed = Layer.succeed(Executor)({
      describe: "timed",
      execute: (x) =>
        Semaphore.withPermits(one, 1)(
          Effect.gen(function* () {
            const t = performance.now()
            const done = yield* opened.executor.execute(x)
            latencies.push(performance.now() - t)
            return done
          }),
        ),
    })
    const warm = await executePipeline(pipeline("warm", empty({ n: -1 }).as("warm")), join(work, "warm.ts"), ["--cache-dir", join(work, "dispatch-scheduler"), "--remote-cache", dispatchRemote, "--json"], { stdout: quiet, stderr: quiet, env, services: timed })
    if (warm.exitCode !== 0) throw new Error("the warm-up job failed")
    latencies.length = 0
    const nodes = Array.from({ length: jobs }, (_, n) => empty({ n }).as(`e${n}`))
    const r = await executePipeline(pipeline("dispatch", nodes[0]!).also(...nodes.slice(1)), join(work, "dispatch.ts"), ["--cache-dir", join(work, "dispatch-scheduler"), "--remote-cache", dispatchRemote, "--json"], { stdout: quiet, stderr: quiet, env, services: timed })
    await opened.close()
    await worker.stop()
    if (r.exitCode !== 0) throw new Error("the dispatch run failed")
    const sorted = [...latencies].sort((a, b) => a - b)
    const p50 = quantile(sorted, 0.5)
    const p99 = quantile(sorted, 0.99)
    console.log(`dispatch: ${sorted.length} empty steps, one at a time: p50 ${p50.toFixed(1)} ms (goal ≤ 15), p99 ${p99.toFixed(1)} ms (goal ≤ 50), max ${sorted.at(-1)!.toFixed(1)} ms`)
    results.dispatch = { jobs: sorted.length, p50Ms: p50, p99Ms: p99, maxMs: sorted.at(-1) }
  }
  console.log(`result: ${await writeResult("distributed", results)}`)
} finally {
  await nginx.stop()
  await redis.stop()
  rmSync(work, { recursive: true, force: true })
}
