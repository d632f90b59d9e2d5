// Benchmark: `kiln serve` (dynamic batching across requests) against the same model served one
// request at a time (each request's texts go straight to Embedder.embed; no batching across
// requests), both on Bun.serve in their own process, loaded over loopback by autocannon at 1, 8 and
// 64 concurrent clients sending 1–4 sentences per POST /embed. Reports throughput and p50 / p99
// latency per server, the median kiln/peer ratio of like-for-like runs, and at 1 client the
// latency of a direct Embedder.embed call plus the HTTP round trip of GET /health. Then the batching
// ceiling: direct Embedder.embed sentences/s over pools of 256 sentences cut into length-sorted
// batches of 1…32 rows (what length-aware batching can give at best on this machine), vs one
// request's sentences per call (what the unbatched server does).
// Goals (issue 14): at 64 clients ≥ 3× the unbatched throughput with p99 ≤ 2× kiln's single-client
// p99; at 1 client, latency within 10 % of direct Embedder.embed + HTTP overhead.
// The model is a bge-small-en-v1.5-shaped synthetic checkpoint (with the real bge-base-en-v1.5
// tokenizer and STS-B sentences from ../shared/data when present, generated ones otherwise),
// exported and compiled (CLS output only) by kiln.
//   bun run bench/serve.ts [--size bge-small|tiny] [--seconds 10] [--repeats 3] [--clients 1,8,64] [--threads 2]
//                          [--max-batch-tokens 256] [--max-wait-ms 2] [--instances 1]
import autocannon from "autocannon"
import { existsSync, rmSync } from "node:fs"
import { mkdtemp } from "node:fs/promises"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { loadStsBenchmark } from "../src/datasets/index.ts"
import { exportEncoder } from "../src/export/index.ts"
import { compileForCpu, Embedder, writeBundle } from "../src/runtime/index.ts"
import { servedTexts } from "../src/serve/testing/served-fixture.ts"
import { synthesizeCheckpoint } from "../src/synth/index.ts"
import { printMachine, writeResult } from "./machine.ts"
import { median } from "./measure.ts"

const USAGE = `Usage: bun run bench/serve.ts [--size bge-small|tiny] [--seconds 10] [--repeats 3] [--clients 1,8,64]
                          [--threads 2] [--max-batch-tokens 256] [--max-wait-ms 2] [--instances 1]

--threads is the intra-op threads in total; --instances N sessions (worker threads) share them, in
kiln serve and in the unbatched peer alike (e.g. --instances 2 --threads 2: one thread each).`

const { values } = parseArgs({
  options: {
    size: { type: "string", default: "bge-small" },
    seconds: { type: "string", default: "10" },
    repeats: { type: "string", default: "3" },
    clients: { type: "string", default: "1,8,64" },
    threads: { type: "string", default: "2" },
    "max-batch-tokens": { type: "string", default: "256" },
    "max-wait-ms": { type: "string", default: "2" },
    instances: { type: "string", default: "1" },
    spin: { type: "boolean", default: false },
    // Internal: run the unbatched peer server in this process (the bench starts it as a child).
    "peer-server": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
})
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}
const threads = Number(values.threads)
const instances = Number(values.instances)
/**
 * ORT's intra-op threads spin after each run by default; on a 2-core machine that starves the HTTP
 * thread and the load generator, so the bundle turns spinning off unless --spin.
 */
const spin = values.spin === true

/** The peer: Bun.serve, POST /embed → Embedder.embed(inputs), one request's texts at a time. */
const runPeerServer = async (bundle: string): Promise<void> => {
  const embedder = await Embedder.load(bundle, { threads, instances, workers: true })
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      if (new URL(request.url).pathname === "/health") return Response.json({ status: "ok" })
      const { inputs } = (await request.json()) as { inputs: string[] }
      const { dense } = await embedder.embed(inputs, { batchSize: 32 })
      const width = dense.shape[1] as number
      return Response.json(Array.from({ length: inputs.length }, (_, i) => Array.from(dense.data.subarray(i * width, (i + 1) * width))))
    },
  })
  console.log(`listening on http://127.0.0.1:${server.port}`)
  process.once("SIGTERM", () => {
    void server.stop(true).then(() => embedder.close()).then(() => process.exit(0))
  })
}


interface Run {
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly errors: number
}

/** Starts `cmd`, returns its URL once it prints "listening on <url>", and a stop function. */
async function startProcess(cmd: string[]): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = Bun.spawn(cmd, { stdout: "pipe", stderr: "inherit" })
  const reader = child.stdout.getReader()
  let seen = ""
  for (;;) {
    const { done, value } = await reader.read()
    if (done) throw new Error(`${cmd.join(" ")} exited before listening:\n${seen}`)
    seen += new TextDecoder().decode(value)
    const match = seen.match(/listening on (http:\/\/\S+)/)
    if (match) {
      void (async () => {
        while (!(await reader.read()).done) {}
      })()
      return {
        url: match[1]!,
        stop: async () => {
          child.kill("SIGTERM")
          await child.exited
        },
      }
    }
  }
}


async function load(url: string, path: string, bodies: readonly string[] | undefined, connections: number, seconds: number): Promise<Run> {
  let next = 0
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: [
      bodies === undefined
        ? { method: "GET", path }
        : {
            method: "POST",
            path,
            headers: { "content-type": "application/json" },
            // Each request takes the next body, so concurrent clients send different lengths.
            setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length]! }),
          },
    ],
  })
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx + result.timeouts }
}

async function main(): Promise<void> {
  const size = values.size === "tiny" ? "tiny" : "bge-small"
  const seconds = Number(values.seconds)
  const repeats = Number(values.repeats)
  const clientCounts = values.clients!.split(",").map(Number)
  const shared = join(import.meta.dir, "..", "..", "shared", "data")
  const tokenizerDir = join(shared, "tokenizers", "bge-base-en-v1.5")
  const stsFile = join(shared, "sts", "stsbenchmark", "sts-test.csv")
  const realData = existsSync(tokenizerDir) && existsSync(stsFile) && size === "bge-small"
  const dir = await mkdtemp(join(process.env.KILN_BENCH_DIR ?? tmpdir(), "kiln-bench-serve-"))
  try {
    printMachine()
    console.log(`preparing ${size} (${realData ? "real bge-base tokenizer, STS-B sentences" : "synthetic tokenizer and sentences"}) in ${dir}`)
    const checkpoint = await synthesizeCheckpoint({ arch: "bert", size, task: "embedding", seed: 1, out: join(dir, "checkpoint"), ...(realData ? { tokenizerDir } : {}) })
    const exported = await exportEncoder({ checkpointDir: checkpoint.dir, outDir: join(dir, "model"), task: "embedding" })
    const compiled = await compileForCpu(exported.outDir, join(dir, "compiled"), { threads, outputs: ["sentence_embedding"] })
    const bundle = (await writeBundle(compiled.outDir, join(dir, "bundle"), spin ? {} : { sessionOptions: { configEntries: { "session.intra_op.allow_spinning": "0" } } })).dir

    const sentences = realData ? (await loadStsBenchmark(stsFile)).flatMap((p) => [p.sentence1, p.sentence2]) : servedTexts(2000, 9)
    // 1–4 sentences per request, seeded.
    let state = 12345
    // High bits: an LCG's low bits cycle with a short period.
    const rand = (n: number) => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0), (state >>> 8) % n)
    const requests = Array.from({ length: 512 }, () => Array.from({ length: 1 + rand(4) }, () => sentences[rand(sentences.length)]!))
    const bodies = requests.map((inputs) => JSON.stringify({ inputs }))
    const meanSentences = requests.reduce((s, r) => s + r.length, 0) / requests.length

    const kiln = await startProcess([
      "bun", "run", join(import.meta.dir, "..", "src", "cli", "kiln.ts"), "serve", bundle, "--port", "0", "--threads", String(threads),
      "--max-batch-tokens", values["max-batch-tokens"]!, "--max-wait-ms", values["max-wait-ms"]!, "--instances", String(instances), "--no-access-log",
    ])
    const peer = await startProcess(["bun", "run", import.meta.path, "--peer-server", bundle, "--threads", String(threads), "--instances", String(instances)])
    const rows: { clients: number; kiln: Run[]; peer: Run[] }[] = []
    let health: Run
    let ceiling: { perRequest: number; byBatch: { batch: number; sentencesPerSecond: number }[] }
    try {
      // Warm both (first runs allocate ORT's arenas).
      await load(kiln.url, "/embed", bodies, 8, 2)
      await load(peer.url, "/embed", bodies, 8, 2)
      for (const clients of clientCounts) {
        const row = { clients, kiln: [] as Run[], peer: [] as Run[] }
        for (let r = 0; r < repeats; r++) {
          // Alternate the order so drift in the machine's load hits both alike.
          const first = r % 2 === 0 ? "kiln" : "peer"
          for (const which of first === "kiln" ? (["kiln", "peer"] as const) : (["peer", "kiln"] as const)) {
            row[which].push(await load(which === "kiln" ? kiln.url : peer.url, "/embed", bodies, clients, seconds))
          }
        }
        rows.push(row)
        const k = row.kiln, p = row.peer
        console.log(
          `  ${String(clients).padStart(2)} clients: kiln ${median(k.map((x) => x.rps)).toFixed(1)} req/s p50 ${median(k.map((x) => x.p50))} ms p99 ${median(k.map((x) => x.p99))} ms | ` +
            `unbatched ${median(p.map((x) => x.rps)).toFixed(1)} req/s p50 ${median(p.map((x) => x.p50))} ms p99 ${median(p.map((x) => x.p99))} ms`,
        )
      }
      health = await load(kiln.url, "/health", undefined, 1, Math.max(2, Math.round(seconds / 2)))
    } finally {
      await Promise.all([kiln.stop(), peer.stop()])
    }

    // Direct calls, same bundle and threads, same request bodies, one at a time, after the servers stopped.
    const embedder = await Embedder.load(bundle, { threads, instances, workers: true })
    const direct: number[] = []
    let directSentences = 0
    const directStart = performance.now()
    try {
      for (let i = 0; performance.now() - directStart < seconds * 1000; i++) {
        const started = performance.now()
        await embedder.embed(requests[i % requests.length]!, { batchSize: 32 })
        direct.push(performance.now() - started)
        directSentences += requests[i % requests.length]!.length
      }
      const directMs = performance.now() - directStart
      // The most batching can give on this machine: the same sentences, 256 at a time, in
      // length-sorted batches of `batch` rows (as length-aware batching forms them at best).
      const byBatch: { batch: number; sentencesPerSecond: number }[] = []
      for (const batch of [1, 2, 4, 8, 16, 32]) {
        const pool = requests.flat()
        const started = performance.now()
        let count = 0
        for (let i = 0; performance.now() - started < (seconds * 1000) / 2; i++) {
          const group = pool.slice((i * 256) % pool.length, ((i * 256) % pool.length) + 256)
          await embedder.embed(group, { batchSize: batch })
          count += group.length
        }
        byBatch.push({ batch, sentencesPerSecond: count / ((performance.now() - started) / 1000) })
      }
      ceiling = { perRequest: directSentences / (directMs / 1000), byBatch }
    } finally {
      await embedder.close()
    }
    const directP50 = median(direct)
    const best = ceiling.byBatch.reduce((m, x) => (x.sentencesPerSecond > m.sentencesPerSecond ? x : m))
    console.log(`direct Embedder.embed: ${ceiling.perRequest.toFixed(1)} sentences/s one request per call; length-sorted batches of ${ceiling.byBatch.map((x) => `${x.batch}: ${x.sentencesPerSecond.toFixed(1)}`).join(", ")} sentences/s`)
    console.log(`batching ceiling here: ${(best.sentencesPerSecond / ceiling.perRequest).toFixed(2)}× the unbatched sentences/s (best at ${best.batch} rows)`)

    const table = rows.map(({ clients, kiln: k, peer: p }) => ({
      clients,
      kiln: { rps: median(k.map((x) => x.rps)), p50: median(k.map((x) => x.p50)), p99: median(k.map((x) => x.p99)), errors: k.reduce((s, x) => s + x.errors, 0) },
      unbatched: { rps: median(p.map((x) => x.rps)), p50: median(p.map((x) => x.p50)), p99: median(p.map((x) => x.p99)), errors: p.reduce((s, x) => s + x.errors, 0) },
      throughputRatio: median(k.map((x, i) => x.rps / p[i]!.rps)),
    }))
    // Other processes on the machine skew absolute figures; the ratios compare runs made side by side.
    console.log(`\nload average during the run: ${loadavg().map((l) => l.toFixed(1)).join(" ")}`)
    console.log(`kiln serve vs one request at a time, ${meanSentences.toFixed(2)} sentences/request, ${seconds} s × ${repeats} runs each, ${threads} threads over ${instances} instance(s)`)
    console.log("clients | kiln req/s  p50 ms  p99 ms | unbatched req/s  p50 ms  p99 ms | throughput ratio (median of runs)")
    for (const t of table) {
      console.log(
        `${String(t.clients).padStart(7)} | ${t.kiln.rps.toFixed(1).padStart(10)} ${String(t.kiln.p50).padStart(7)} ${String(t.kiln.p99).padStart(7)} | ` +
          `${t.unbatched.rps.toFixed(1).padStart(15)} ${String(t.unbatched.p50).padStart(7)} ${String(t.unbatched.p99).padStart(7)} | ${t.throughputRatio.toFixed(2)}×`,
      )
    }
    const single = table.find((t) => t.clients === 1)
    const most = table.at(-1)!
    const overheadBudget = directP50 + health.p50
    console.log(`\ndirect Embedder.embed p50 ${directP50.toFixed(2)} ms (${direct.length} calls); HTTP round trip (GET /health, 1 client) p50 ${health.p50} ms`)
    if (single) console.log(`goal 1 client: kiln p50 ${single.kiln.p50} ms ≤ 1.1 × (${directP50.toFixed(2)} + ${health.p50}) = ${(1.1 * overheadBudget).toFixed(2)} ms: ${single.kiln.p50 <= 1.1 * overheadBudget ? "met" : "NOT met"}`)
    console.log(`goal ${most.clients} clients: throughput ${most.throughputRatio.toFixed(2)}× ≥ 3×: ${most.throughputRatio >= 3 ? "met" : "NOT met"}`)
    if (single) console.log(`goal ${most.clients} clients: p99 ${most.kiln.p99} ms ≤ 2 × single-client p99 ${single.kiln.p99} ms: ${most.kiln.p99 <= 2 * single.kiln.p99 ? "met" : "NOT met"}`)
    const path = await writeResult("serve", { size, realData, seconds, repeats, threads, instances, meanSentences, maxBatchTokens: Number(values["max-batch-tokens"]), maxWaitMs: Number(values["max-wait-ms"]), table, directP50Ms: directP50, httpP50Ms: health.p50, directSentencesPerSecond: ceiling, loadAverage: loadavg() })
    console.log(`\nwrote ${path}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (values["peer-server"] !== undefined) {
  await runPeerServer(values["peer-server"])
} else {
  await main()
}
