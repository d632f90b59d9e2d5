// Benchmark: downloading one large LFS file through kiln's Hub client (src/hub: resolve the commit,
// list, redirect to storage, stream to blobs/<sha256>.incomplete, verify sha256, rename, link)
// vs `curl -L` of the same file from the same local Hub-shaped server, alternating, in one run.
// A third client is the floor of doing it in Bun at all: Bun's fetch streamed into a file, nothing
// else (no Hub client, no hash, no fsync). The server runs in its own process so each client's
// peak RSS and CPU time are its own. kiln flushes the blob to disk before it counts as cached, curl
// does not: curl's time plus an fsync of its file is printed as the durable peer. Reports the median time ratios to curl (goal: kiln within
// 1.2×) and kiln's peak RSS (goal: not growing with the file). On a loaded machine the server and
// the clients share the cores, so each client's CPU seconds are printed beside its wall time.
//   bun run bench/hub-download.ts [--size-mib 2048] [--repeats 3]
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { open } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import * as Effect from "effect/Effect"
import { fetchSnapshot, hubRepo, hubSettingsFromEnv } from "../src/hub/index.ts"
import { startFakeHub } from "../src/hub/testing/fake-hub.ts"
import { printMachine, writeResult } from "./machine.ts"
import { median } from "./measure.ts"

const { values } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "2048" },
    repeats: { type: "string", default: "3" },
    serve: { type: "boolean", default: false },
    fetch: { type: "string" },
    floor: { type: "string" },
    out: { type: "string" },
    cache: { type: "string" },
    help: { type: "boolean", default: false },
  },
})
const COMMIT = "e".repeat(40)
const sizeMiB = Number(values["size-mib"])
const peakRssMiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) / 1024
const cpuSeconds = () => {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}
const fileUrl = (url: string) => `${url}/bench/big/resolve/${COMMIT}/model.safetensors`

if (values.help) {
  console.log("bun run bench/hub-download.ts [--size-mib 2048] [--repeats 3]\n  kiln's Hub download vs curl (and vs Bun's bare fetch into a file) of the same file from a local Hub-shaped server; median time ratios, peak RSS and CPU seconds of each client")
  process.exit(0)
}

if (values.serve) {
  // Server process: one model repo with one LFS file of pseudo-random bytes, held in memory.
  const bytes = new Uint8Array(sizeMiB * 2 ** 20)
  const words = new Uint32Array(bytes.buffer)
  let state = 0x9e3779b9
  for (let i = 0; i < words.length; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    words[i] = state >>> 0
  }
  const hub = await startFakeHub([{ type: "model", id: "bench/big", commits: { [COMMIT]: { "model.safetensors": { bytes, lfs: true }, "config.json": { bytes: new TextEncoder().encode("{}") } } }, refs: { main: COMMIT } }])
  console.log(hub.url)
  await new Promise(() => {})
}

if (values.fetch !== undefined) {
  // Client process: kiln fetches the file into a fresh cache.
  const started = performance.now()
  const settings = hubSettingsFromEnv({ HF_ENDPOINT: values.fetch, HF_HUB_CACHE: values.cache! }, { timeoutMs: 60_000 })
  await Effect.runPromise(fetchSnapshot({ repo: hubRepo("bench/big"), revision: "main", want: [{ what: "weights", oneOf: [["model.safetensors"]] }] }, settings))
  console.log(JSON.stringify({ ms: performance.now() - started, peakRssMiB: peakRssMiB(), cpuS: cpuSeconds() }))
  process.exit(0)
}

if (values.floor !== undefined) {
  // Client process: Bun's fetch (following the redirect) streamed into a file, awaiting each write.
  const started = performance.now()
  const response = await fetch(fileUrl(values.floor))
  const handle = await open(values.out!, "w")
  for await (const chunk of response.body!) await handle.write(chunk)
  await handle.close()
  console.log(JSON.stringify({ ms: performance.now() - started, peakRssMiB: peakRssMiB(), cpuS: cpuSeconds() }))
  process.exit(0)
}

printMachine()
const server = Bun.spawn(["bun", import.meta.path, "--serve", "--size-mib", String(sizeMiB)], { stdout: "pipe", stderr: "inherit" })
const reader = server.stdout.getReader()
const { value } = await reader.read()
const url = new TextDecoder().decode(value).trim()
const work = mkdtempSync(join(process.env.KILN_BENCH_DIR ?? tmpdir(), "kiln-bench-hub-"))
type Client = { ms: number; peakRssMiB: number; cpuS: number }
const rows: { kiln: Client; curl: Client; curlFsyncMs: number; floor: Client }[] = []
const child = (args: string[]): Client => {
  const run = Bun.spawnSync(["bun", import.meta.path, ...args], { stderr: "inherit" })
  if (run.exitCode !== 0) throw new Error(`bench child ${args[0]} failed (exit ${run.exitCode})`)
  return JSON.parse(new TextDecoder().decode(run.stdout).trim().split("\n").pop()!) as Client
}
const fmt = (c: Client) => `${(c.ms / 1000).toFixed(2)} s (CPU ${c.cpuS.toFixed(2)} s, peak RSS ${c.peakRssMiB.toFixed(0)} MiB)`
try {
  for (let r = 0; r < Number(values.repeats); r++) {
    const cache = join(work, `cache-${r}`)
    const kiln = child(["--fetch", url, "--cache", cache])
    rmSync(cache, { recursive: true, force: true })
    const out = join(work, `curl-${r}.bin`)
    const started = performance.now()
    const run = Bun.spawnSync(["/usr/bin/time", "-f", "%M %U %S", "curl", "-sS", "-L", "-o", out, fileUrl(url)], { stderr: "pipe" })
    const curlMs = performance.now() - started
    if (run.exitCode !== 0 || statSync(out).size !== sizeMiB * 2 ** 20) throw new Error(`curl failed: ${new TextDecoder().decode(run.stderr)}`)
    const [rssKiB, user, sys] = new TextDecoder().decode(run.stderr).trim().split("\n").pop()!.split(" ").map(Number)
    const curl = { ms: curlMs, peakRssMiB: rssKiB! / 1024, cpuS: user! + sys! }
    // curl leaves the bytes in the page cache; kiln flushes them to disk before the blob counts as
    // cached. The same flush of curl's file, timed, makes the durable peer.
    const syncStarted = performance.now()
    Bun.spawnSync(["sync", out])
    const curlFsyncMs = curlMs + (performance.now() - syncStarted)
    rmSync(out, { force: true })
    const floor = child(["--floor", url, "--out", out])
    rmSync(out, { force: true })
    rows.push({ kiln, curl, curlFsyncMs, floor })
    console.log(`run ${r + 1}: kiln ${fmt(kiln)}, curl ${fmt(curl)} (+ fsync ${(curlFsyncMs / 1000).toFixed(2)} s), bare Bun fetch ${fmt(floor)}`)
  }
} finally {
  server.kill()
  rmSync(work, { recursive: true, force: true })
}
const medianRatio = median(rows.map((r) => r.kiln.ms / r.curl.ms))
const floorRatio = median(rows.map((r) => r.floor.ms / r.curl.ms))
const durableRatio = median(rows.map((r) => r.kiln.ms / r.curlFsyncMs))
const cpuRatio = median(rows.map((r) => r.kiln.cpuS / r.curl.cpuS))
console.log(`\n${sizeMiB} MiB LFS file, ${rows.length} runs (medians of per-run ratios):`)
console.log(`  kiln / curl wall ${medianRatio.toFixed(2)}× (goal ≤ 1.2×); bare Bun fetch / curl wall ${floorRatio.toFixed(2)}×`)
console.log(`  kiln / (curl + fsync of its file) wall ${durableRatio.toFixed(2)}× (both end with the bytes on disk)`)
console.log(`  kiln / curl process CPU (with start-up) ${cpuRatio.toFixed(2)}×; bare Bun fetch / curl CPU ${median(rows.map((r) => r.floor.cpuS / r.curl.cpuS)).toFixed(2)}×`)
console.log(`  kiln peak RSS ${Math.max(...rows.map((r) => r.kiln.peakRssMiB)).toFixed(0)} MiB`)
console.log(`(kiln's time includes resolving the commit, listing, sha256 verification of every byte, flushing to disk and the rename; curl and the bare fetch only write the bytes)`)
console.log(`results: ${await writeResult("hub-download", { sizeMiB, rows, medianRatio, floorRatio, durableRatio, cpuRatio })}`)
