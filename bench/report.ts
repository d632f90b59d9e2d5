// Benchmark: writing the quickstart's run report (goal ≤ 1 s). Runs the quickstart once into a
// fresh cache (--frozen: the committed lock file is only checked), then alternates, per repeat:
//   in-process  — reportRun(): read the run record and artifacts, render the plots, write the files
//   kiln report — `bun run kiln report <run> --cache-dir …` as a whole process (what a user waits for)
//   peer        — the warm no-op quickstart run as a whole process (every step cached; it writes a
//                 report too), the floor any kiln command pays
// Reports medians, and kiln report's time as a ratio of the peer's.
//   bun run bench/report.ts [--repeats 5]
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import { cacheLayout } from "../src/cache/layout.ts"
import { listRunIds } from "../src/cache/run-records.ts"
import { reportRun } from "../src/report/index.ts"
import { printMachine, writeResult } from "./machine.ts"
import { median } from "./measure.ts"

const { values } = parseArgs({ options: { repeats: { type: "string", default: "5" }, help: { type: "boolean", default: false } } })
if (values.help) {
  console.log(`bun run bench/report.ts [--repeats 5]
  time to write the quickstart's run report: in-process, as \`kiln report\`, and beside a warm no-op
  quickstart run (the peer); medians over the repeats`)
  process.exit(0)
}

const repo = resolve(import.meta.dir, "..")
const repeats = Math.max(1, Number(values.repeats))
const cache = mkdtempSync(join(tmpdir(), "kiln-bench-report-"))

const timedProcess = (argv: string[]): number => {
  const t0 = performance.now()
  const r = Bun.spawnSync(argv, { cwd: repo, stdout: "pipe", stderr: "pipe" })
  const ms = performance.now() - t0
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${r.exitCode}): ${r.stderr.toString().slice(-2000)}`)
  return ms
}

try {
  printMachine()
  const quickstart = ["bun", "run", "examples/quickstart.ts", "--frozen", "--cache-dir", cache]
  console.log(`cold quickstart run: ${(timedProcess(quickstart) / 1000).toFixed(1)} s`)
  const run = listRunIds(cacheLayout(cache)).at(-1)!
  const inProcess: number[] = []
  const kiln: number[] = []
  const peer: number[] = []
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now()
    reportRun(cache, run)
    inProcess.push(performance.now() - t0)
    kiln.push(timedProcess(["bun", "run", "src/cli/kiln.ts", "report", run, "--cache-dir", cache]))
    peer.push(timedProcess(quickstart))
  }
  const result = {
    repeats,
    inProcessMs: { median: median(inProcess), first: inProcess[0], all: inProcess },
    kilnReportMs: { median: median(kiln), all: kiln },
    warmQuickstartMs: { median: median(peer), all: peer },
    kilnReportOverWarmRun: median(kiln) / median(peer),
    goalMs: 1000,
  }
  console.log(`report in-process: median ${result.inProcessMs.median.toFixed(0)} ms (first, with Plot's import: ${inProcess[0]!.toFixed(0)} ms)`)
  console.log(`kiln report (whole process): median ${result.kilnReportMs.median.toFixed(0)} ms — goal ≤ 1000 ms: ${result.kilnReportMs.median <= 1000 ? "met" : "NOT met"}`)
  console.log(`peer, warm no-op quickstart run (whole process): median ${result.warmQuickstartMs.median.toFixed(0)} ms; kiln report / peer = ${result.kilnReportOverWarmRun.toFixed(2)}`)
  console.log(`wrote ${await writeResult("report", result)}`)
} finally {
  rmSync(cache, { recursive: true, force: true })
}
