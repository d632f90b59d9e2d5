// Benchmark: the remote cache tier, whole processes, against Debian's nginx (WebDAV) on loopback.
// For the quickstart and a bge-small-shaped pipeline, each repeat runs: cold (empty local cache,
// empty remote prefix; uploads what it builds), warm-from-remote (a new empty local cache, the
// filled remote), warm local (the same local cache again). Then the remote's blobs are downloaded
// by kiln's HTTP store + verified publish (src/store/download.ts, its own process) and by `curl`
// from the same server, alternating. Reports medians, the ratios the issue sets goals for
// (warm-from-remote ≤ 15 % of cold for bge-small; kiln's download throughput ≥ 70 % of curl's),
// and each process's peak RSS beside the largest blob (peak RSS must not follow blob size).
//   bun run bench/remote-cache.ts [--repeats 3] [--only quickstart|bge-small]
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import { cacheLayout } from "../src/cache/layout.ts"
import { downloadBlob } from "../src/store/download.ts"
import { PARALLEL_TRANSFERS } from "../src/store/tier.ts"
import { openStore } from "../src/store/index.ts"
import { nginxUnavailable, startNginx } from "../src/store/testing/nginx.ts"
import { printMachine, writeResult } from "./machine.ts"
import { median } from "./measure.ts"

const { values } = parseArgs({
  options: {
    repeats: { type: "string", default: "3" },
    only: { type: "string" },
    download: { type: "string" },
    cache: { type: "string" },
    help: { type: "boolean", default: false },
  },
})

if (values.help) {
  console.log(`bun run bench/remote-cache.ts [--repeats 3] [--only quickstart|bge-small]
  cold vs warm-from-remote vs warm-local whole-process runs of the quickstart and a bge-small-shaped
  pipeline against nginx WebDAV on loopback; kiln's blob download vs curl of the same blobs; peak RSS`)
  process.exit(0)
}

if (values.download !== undefined) {
  // Child: download every blob listed on stdin's file into a fresh local cache through the store.
  const [base, list] = values.download.split("#") as [string, string]
  const store = openStore(base)
  if ("error" in store) throw new Error(store.error)
  const layout = cacheLayout(values.cache!)
  mkdirSync(layout.tmp, { recursive: true })
  const digests = readFileSync(list, "utf8").trim().split("\n")
  const started = performance.now()
  await Effect.runPromise(
    // As many at once as the tier fetches a tree's blobs (src/store/tier.ts).
    Effect.forEach(digests, (digest) => Effect.map(downloadBlob(layout, store, digest), (got) => {
      if (got !== "stored") throw new Error(`missing ${digest}`)
    }), { concurrency: PARALLEL_TRANSFERS, discard: true }).pipe(Effect.provide(NodeFileSystem.layer)),
  )
  console.log(JSON.stringify({ ms: performance.now() - started }))
  process.exit(0)
}

const unavailable = nginxUnavailable()
if (unavailable !== undefined) {
  console.error(`cannot run: ${unavailable}`)
  process.exit(1)
}

const repo = resolve(import.meta.dir, "..")
const work = mkdtempSync(join(tmpdir(), "kiln-bench-remote-"))
// The pipelines run from a copy of the repo: a run writes the lock file beside its pipeline file,
// and the bench must never touch the committed ones (nor race a test reading them). Same content,
// so the same code digests and keys as in the repo.
const checkout = join(work, "repo")
for (const path of ["src", "stdlib", "examples", "bench", "package.json", "bun.lock", "tsconfig.json"]) cpSync(join(repo, path), join(checkout, path), { recursive: true })
symlinkSync(join(repo, "node_modules"), join(checkout, "node_modules"))
const pipelines = [
  { name: "quickstart", file: join(checkout, "examples/quickstart.ts") },
  { name: "bge-small", file: join(checkout, "bench/pipelines/bge-small-shaped.ts") },
].filter((p) => values.only === undefined || p.name === values.only)
const repeats = Number(values.repeats)
const KEY = "bench-signing-key"
const mib = (bytes: number) => bytes / 2 ** 20

printMachine()
const nginx = await startNginx(join(work, "nginx"))

/** One whole-process run, in the copy of the repo; its lock file is restored afterwards, so each run starts from the committed one. */
const runPipeline = (file: string, cache: string, remote: string) => {
  const lock = file.replace(/\.ts$/, ".lock.json")
  const before = existsSync(lock) ? readFileSync(lock) : undefined
  const started = performance.now()
  const proc = Bun.spawnSync(["bun", "run", file, "--json", "--cache-dir", cache, "--remote-cache", remote], {
    cwd: checkout,
    env: { ...process.env, KILN_CACHE_SIGNING_KEY: KEY, KILN_REMOTE_CACHE: undefined },
    stdout: "pipe",
    stderr: "pipe",
  })
  const ms = performance.now() - started
  if (before !== undefined) writeFileSync(lock, before)
  else rmSync(lock, { force: true })
  const summary = JSON.parse(proc.stdout.toString().trim().split("\n").pop() ?? "{}") as { ok?: boolean; steps?: { status: string }[] }
  if (proc.exitCode !== 0 || summary.ok !== true) throw new Error(`${file} failed (exit ${proc.exitCode}): ${proc.stderr.toString().slice(-2000)}`)
  const statuses: Record<string, number> = {}
  for (const s of summary.steps ?? []) statuses[s.status] = (statuses[s.status] ?? 0) + 1
  return { ms, rssMiB: mib(proc.resourceUsage.maxRSS), statuses }
}

const results: Record<string, unknown> = {}
try {
  for (const p of pipelines) {
    const runs = { cold: [] as number[], remote: [] as number[], local: [] as number[], rss: { cold: 0, remote: 0, local: 0 } }
    let prefix = ""
    for (let i = 0; i < repeats; i++) {
      prefix = `${nginx.url}/${p.name}-${i}`
      const a = join(work, `${p.name}-${i}-a`)
      const b = join(work, `${p.name}-${i}-b`)
      const cold = runPipeline(p.file, a, prefix)
      const remote = runPipeline(p.file, b, prefix)
      const local = runPipeline(p.file, b, prefix)
      if ((remote.statuses.ran ?? 0) > 0) throw new Error(`warm-from-remote ran steps: ${JSON.stringify(remote.statuses)}`)
      runs.cold.push(cold.ms)
      runs.remote.push(remote.ms)
      runs.local.push(local.ms)
      runs.rss = { cold: Math.max(runs.rss.cold, cold.rssMiB), remote: Math.max(runs.rss.remote, remote.rssMiB), local: Math.max(runs.rss.local, local.rssMiB) }
      console.log(`${p.name} #${i + 1}: cold ${(cold.ms / 1000).toFixed(2)} s, warm-from-remote ${(remote.ms / 1000).toFixed(2)} s ${JSON.stringify(remote.statuses)}, warm local ${(local.ms / 1000).toFixed(2)} s`)
      rmSync(a, { recursive: true, force: true })
      rmSync(b, { recursive: true, force: true })
    }

    // Download throughput: every blob of the last remote prefix, kiln vs curl, alternating.
    const casDir = join(nginx.root, new URL(prefix).pathname, "cas")
    const digests = readdirSync(casDir)
    const bytes = digests.reduce((sum, d) => sum + statSync(join(casDir, d)).size, 0)
    const largest = Math.max(...digests.map((d) => statSync(join(casDir, d)).size))
    const list = join(work, "digests.txt")
    writeFileSync(list, digests.join("\n") + "\n")
    const kilnMs: number[] = []
    const curlMs: number[] = []
    let kilnRss = 0
    for (let i = 0; i < repeats; i++) {
      const cache = join(work, `dl-${i}`)
      const k = Bun.spawnSync(["bun", "run", import.meta.path, "--download", `${prefix}#${list}`, "--cache", cache], { stdout: "pipe", stderr: "pipe" })
      if (k.exitCode !== 0) throw new Error(`kiln download failed: ${k.stderr.toString()}`)
      kilnMs.push((JSON.parse(k.stdout.toString()) as { ms: number }).ms)
      kilnRss = Math.max(kilnRss, mib(k.resourceUsage.maxRSS))
      rmSync(cache, { recursive: true, force: true })
      const out = join(work, `curl-${i}`)
      const args = digests.flatMap((d) => ["-o", join(out, d), `${prefix}/cas/${d}`])
      const started = performance.now()
      const c = Bun.spawnSync(["curl", "-sf", "--create-dirs", ...args], { stdout: "pipe", stderr: "pipe" })
      curlMs.push(performance.now() - started)
      if (c.exitCode !== 0) throw new Error(`curl failed: ${c.stderr.toString()}`)
      rmSync(out, { recursive: true, force: true })
    }
    const coldMs = median(runs.cold)
    const remoteMs = median(runs.remote)
    const localMs = median(runs.local)
    const kilnMiBs = mib(bytes) / (median(kilnMs) / 1000)
    const curlMiBs = mib(bytes) / (median(curlMs) / 1000)
    results[p.name] = {
      coldMs, warmRemoteMs: remoteMs, warmLocalMs: localMs, remoteOverCold: remoteMs / coldMs,
      peakRssMiB: runs.rss, blobs: digests.length, blobMiB: mib(bytes), largestBlobMiB: mib(largest),
      downloadKilnMiBs: kilnMiBs, downloadCurlMiBs: curlMiBs, downloadRatio: kilnMiBs / curlMiBs, downloadPeakRssMiB: kilnRss,
    }
    console.log(
      `${p.name}: cold ${(coldMs / 1000).toFixed(2)} s | warm-from-remote ${(remoteMs / 1000).toFixed(2)} s (${((100 * remoteMs) / coldMs).toFixed(1)} % of cold) | warm local ${(localMs / 1000).toFixed(2)} s\n` +
        `  peak RSS (MiB): cold ${runs.rss.cold.toFixed(0)}, warm-from-remote ${runs.rss.remote.toFixed(0)}, warm local ${runs.rss.local.toFixed(0)}\n` +
        `  download of ${digests.length} blobs, ${mib(bytes).toFixed(1)} MiB (largest ${mib(largest).toFixed(1)} MiB): kiln ${kilnMiBs.toFixed(0)} MiB/s vs curl ${curlMiBs.toFixed(0)} MiB/s = ${((100 * kilnMiBs) / curlMiBs).toFixed(0)} % of curl; kiln's peak RSS ${kilnRss.toFixed(0)} MiB`,
    )
  }
  console.log(`results: ${await writeResult("remote-cache", results)}`)
} finally {
  await nginx.stop()
  rmSync(work, { recursive: true, force: true })
}
