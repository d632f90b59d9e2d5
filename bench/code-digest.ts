// Benchmark: the code digest of every stdlib step, as a run computes it before any node runs
// (src/engine/step-code.ts), each measurement in a fresh process (module loading excluded) as a
// real run pays it. Cold: empty state, Bun's bundler resolves every import closure and every file
// is hashed. No-op re-run: persisted closures checked by stat, no bundler. Peer, in the same run:
// plain sha256 of every file in the closures. Goal: no-op ≤ 50 ms for the whole tree.
//   bun run bench/code-digest.ts [--repeats 7]
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import * as Effect from "effect/Effect"
import { sha256File } from "../src/cache/file-digest.ts"
import { cacheLayout } from "../src/cache/layout.ts"
import type { AnyStep } from "../src/engine/index.ts"
import { prepareStepCode } from "../src/engine/step-code.ts"
import * as stdlib from "../stdlib/index.ts"
import { printMachine, writeResult } from "./machine.ts"
import { median } from "./measure.ts"

const { values } = parseArgs({
  options: { repeats: { type: "string", default: "7" }, help: { type: "boolean", default: false }, child: { type: "string" }, peer: { type: "string" } },
})
if (values.help) {
  console.log("usage: bun run bench/code-digest.ts [--repeats N]\n  times the code digest of every stdlib step in fresh processes: cold, no-op re-run, and sha256 of the same files")
  process.exit(0)
}
const repo = join(import.meta.dir, "..")
/** CPU time (user + system) is what the process itself spent; wall time also counts waiting for a busy machine. */
const cpuMs = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1000
/**
 * CPU time of the calling (main) thread in ms, from Linux's schedstat (ns); NaN elsewhere. Process
 * CPU also counts Bun's JIT and GC threads still compiling the modules loaded just before the
 * measurement: the peer, which hashes files with no digest logic at all, shows the same ~2× gap.
 */
const threadCpuMs = (): number => {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]) / 1e6
  } catch {
    return Number.NaN
  }
}
const steps: AnyStep[] = Object.values(stdlib).flatMap((v) => (typeof v === "function" && "definition" in v ? [(v as { definition: AnyStep }).definition] : []))

if (values.child !== undefined) {
  // One run's digest computation; prints its time and the files it covered.
  const started = performance.now()
  const cpu = process.cpuUsage()
  const thread = threadCpuMs()
  const codeOf = await Effect.runPromise(prepareStepCode(cacheLayout(values.child), steps))
  const threadMs = threadCpuMs() - thread
  const files = [...new Set(steps.flatMap((s) => Object.keys(codeOf(s).files)))]
  console.log(JSON.stringify({ ms: performance.now() - started, cpuMs: cpuMs(process.cpuUsage(cpu)), threadMs, files }))
  process.exit(0)
}
if (values.peer !== undefined) {
  const files = JSON.parse(values.peer) as string[]
  const started = performance.now()
  const cpu = process.cpuUsage()
  const thread = threadCpuMs()
  for (const f of files) sha256File(join(repo, f))
  const threadMs = threadCpuMs() - thread
  console.log(JSON.stringify({ ms: performance.now() - started, cpuMs: cpuMs(process.cpuUsage(cpu)), threadMs, files }))
  process.exit(0)
}

const repeats = Number(values.repeats)
const child = (...args: string[]): { ms: number; cpuMs: number; threadMs: number; files: string[] } => {
  const proc = Bun.spawnSync(["bun", "run", import.meta.path, ...args], { stdout: "pipe", stderr: "pipe" })
  if (proc.exitCode !== 0) throw new Error(`bench child failed:\n${proc.stderr.toString()}`)
  return JSON.parse(proc.stdout.toString().trim().split("\n").pop()!)
}

const root = mkdtempSync(join(tmpdir(), "kiln-bench-code-"))
try {
  const cold = child("--child", root)
  const noopRuns = Array.from({ length: repeats }, () => ({ noop: child("--child", root), peer: child("--peer", JSON.stringify(cold.files)) }))
  const noop = noopRuns.map((r) => r.noop.ms)
  const peer = noopRuns.map((r) => r.peer.ms)
  const noopMs = median(noop)
  const peerMs = median(peer)
  const noopCpuMs = median(noopRuns.map((r) => r.noop.cpuMs))
  const peerCpuMs = median(noopRuns.map((r) => r.peer.cpuMs))
  const noopThreadMs = median(noopRuns.map((r) => r.noop.threadMs))
  const peerThreadMs = median(noopRuns.map((r) => r.peer.threadMs))
  printMachine()
  console.log(`${steps.length} steps, ${new Set(steps.map((s) => s.module)).size} modules, ${cold.files.length} project files in their closures`)
  const rows = [
    ["cold: bundler resolves every closure, every file hashed", cold.ms],
    [`no-op re-run (median of ${repeats} processes)`, noopMs],
    [`peer: sha256 of the same files (median of ${repeats} processes)`, peerMs],
  ] as const
  const cpuOf = [cold.cpuMs, noopCpuMs, peerCpuMs]
  const threadOf = [cold.threadMs, noopThreadMs, peerThreadMs]
  console.log(`${"".padEnd(62)} ${"wall".padStart(8)}    ${"cpu".padStart(8)}    ${"main thread".padStart(11)}`)
  rows.forEach(([label, ms], i) => console.log(`${label.padEnd(62)} ${ms.toFixed(1).padStart(8)} ms ${cpuOf[i]!.toFixed(1).padStart(8)} ms ${threadOf[i]!.toFixed(1).padStart(11)} ms`))
  console.log("cpu: the whole process (includes Bun's JIT / GC threads still compiling the modules loaded before the measurement); main thread: the digest's own work")
  const ratios = noopRuns.map((r) => r.noop.ms / r.peer.ms)
  const load = (await Bun.file("/proc/loadavg").text().catch(() => "?")).split(" ")[0]
  console.log(`load average during the run: ${load} (wall times on a busy machine include waiting for a core)`)
  console.log(`no-op / plain sha256 (median of paired runs) = ${median(ratios).toFixed(2)}; no-op ${noopMs.toFixed(1)} ms wall, ${noopCpuMs.toFixed(1)} ms cpu, ${noopThreadMs.toFixed(1)} ms main-thread cpu (goal ≤ 50 ms): ${noopMs <= 50 ? "MET" : "NOT MET"}`)
  const path = await writeResult("code-digest", { steps: steps.length, files: cold.files.length, coldMs: cold.ms, coldCpuMs: cold.cpuMs, noopMs, noopCpuMs, noopThreadMs, noopRuns: noop, peerMs, peerCpuMs, peerThreadMs, peerRuns: peer, ratio: median(ratios), load, goalMet: noopMs <= 50 })
  console.log(`wrote ${path}`)
} finally {
  rmSync(root, { recursive: true, force: true })
}
