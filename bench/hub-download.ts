// Benchmark: downloading one large LFS file through kiln's Hub client (src/hub: resolve the commit,
// list, redirect to storage, stream to blobs/<sha256>.incomplete, verify sha256, rename, link)
// vs `curl -L` of the same file from the same local Hub-shaped server, alternating, in one run.
// The server runs in its own process so each client's peak RSS is its own. Reports the median
// time ratio (goal: within 1.2× of curl) and kiln's peak RSS (goal: not growing with the file).
//   bun run bench/hub-download.ts [--size-mib 2048] [--repeats 3]
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import * as Effect from "effect/Effect"
import { fetchSnapshot, hubRepo, hubSettingsFromEnv } from "../src/hub/index.ts"
import { startFakeHub } from "../src/hub/testing/fake-hub.ts"
import { printMachine, writeResult } from "./machine.ts"

const { values } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "2048" },
    repeats: { type: "string", default: "3" },
    serve: { type: "boolean", default: false },
    fetch: { type: "string" },
    cache: { type: "string" },
    help: { type: "boolean", default: false },
  },
})
const COMMIT = "e".repeat(40)
const sizeMiB = Number(values["size-mib"])
const peakRssMiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) / 1024

if (values.help) {
  console.log("bun run bench/hub-download.ts [--size-mib 2048] [--repeats 3]\n  kiln's Hub download vs curl of the same file from a local Hub-shaped server; median time ratio and peak RSS")
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
  console.log(JSON.stringify({ ms: performance.now() - started, peakRssMiB: peakRssMiB() }))
  process.exit(0)
}

printMachine()
const server = Bun.spawn(["bun", import.meta.path, "--serve", "--size-mib", String(sizeMiB)], { stdout: "pipe", stderr: "inherit" })
const reader = server.stdout.getReader()
const { value } = await reader.read()
const url = new TextDecoder().decode(value).trim()
const work = mkdtempSync(join(process.env.KILN_BENCH_DIR ?? tmpdir(), "kiln-bench-hub-"))
const rows: { kilnMs: number; kilnRssMiB: number; curlMs: number; curlRssMiB: number }[] = []
try {
  for (let r = 0; r < Number(values.repeats); r++) {
    const cache = join(work, `cache-${r}`)
    const kiln = Bun.spawnSync(["bun", import.meta.path, "--fetch", url, "--cache", cache], { stderr: "inherit" })
    const k = JSON.parse(new TextDecoder().decode(kiln.stdout).trim().split("\n").pop()!) as { ms: number; peakRssMiB: number }
    rmSync(cache, { recursive: true, force: true })
    const out = join(work, `curl-${r}.bin`)
    const started = performance.now()
    const curl = Bun.spawnSync(["/usr/bin/time", "-f", "%M", "curl", "-sS", "-L", "-o", out, `${url}/bench/big/resolve/${COMMIT}/model.safetensors`], { stderr: "pipe" })
    const curlMs = performance.now() - started
    if (curl.exitCode !== 0 || statSync(out).size !== sizeMiB * 2 ** 20) throw new Error(`curl failed: ${new TextDecoder().decode(curl.stderr)}`)
    const curlRssMiB = Number(new TextDecoder().decode(curl.stderr).trim().split("\n").pop()) / 1024
    rmSync(out, { force: true })
    rows.push({ kilnMs: k.ms, kilnRssMiB: k.peakRssMiB, curlMs, curlRssMiB })
    console.log(`run ${r + 1}: kiln ${(k.ms / 1000).toFixed(2)} s (peak RSS ${k.peakRssMiB.toFixed(0)} MiB), curl ${(curlMs / 1000).toFixed(2)} s (peak RSS ${curlRssMiB.toFixed(0)} MiB)`)
  }
} finally {
  server.kill()
  rmSync(work, { recursive: true, force: true })
}
const ratios = rows.map((r) => r.kilnMs / r.curlMs).sort((a, b) => a - b)
const median = ratios[Math.floor(ratios.length / 2)]!
console.log(`\n${sizeMiB} MiB LFS file, ${rows.length} runs: kiln / curl median time ratio ${median.toFixed(2)}× (goal ≤ 1.2×); kiln peak RSS ${Math.max(...rows.map((r) => r.kilnRssMiB)).toFixed(0)} MiB`)
console.log(`(kiln's time includes resolving the commit, listing, sha256 verification of every byte and the rename; curl only writes the bytes)`)
console.log(`results: ${await writeResult("hub-download", { sizeMiB, rows, medianRatio: median })}`)
