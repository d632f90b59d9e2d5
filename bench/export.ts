// Benchmark: export of the synthetic bge-m3-size checkpoint (XLM-R large, pytorch_model.bin
// ≈ 2.2 GB fp32, task m3) next to a plain copy of pytorch_model.bin on the same disk, and the
// export's peak RSS (the export runs in a child process that reports its own peak, VmHWM).
// Goal: export ≤ 2.0× the copy time, peak RSS ≤ 1.5 GB. Disk speed on a shared VM swings 3× from
// minute to minute, so copy and export alternate for --rounds rounds and medians are compared.
//   bun run bench/export.ts [--dir DIR] [--task m3|embedding] [--dtype fp32|fp16] [--rounds N] [--keep]
// The checkpoint is synthesized once into DIR (default $KILN_BENCH_DIR or the temp dir) and reused
// while present; everything big is removed at the end unless --keep.
import { closeSync, existsSync, openSync, readFileSync, readSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, join, resolve } from "node:path"
import { parseArgs } from "node:util"
import { printMachine, writeResult } from "./machine.ts"
import { plainCopy } from "./measure.ts"

const { values } = parseArgs({
  options: {
    dir: { type: "string" },
    task: { type: "string", default: "m3" },
    dtype: { type: "string", default: "fp32" },
    keep: { type: "boolean", default: false },
    rounds: { type: "string", default: "3" },
    child: { type: "string" }, // internal: run one export and print its figures as JSON
    help: { type: "boolean", short: "h" },
  },
})
if (values.help) {
  console.log(`Usage: bun run bench/export.ts [--dir DIR] [--task m3|embedding] [--dtype fp32|fp16] [--rounds N] [--keep]
  export of a synthetic bge-m3-size checkpoint vs a plain copy of its weights, alternating; peak RSS`)
  process.exit(0)
}

const repo = resolve(import.meta.dir, "..")

/**
 * This process's peak RSS. getrusage's maxRSS survives fork + exec, so a child spawned by a
 * parent holding 300 MB would report at least 300 MB; Linux's VmHWM belongs to the exec'd image.
 */
const peakRssBytes = (): number => {
  try {
    const kb = readFileSync("/proc/self/status", "utf8").match(/^VmHWM:\s*(\d+)\s*kB/m)?.[1]
    if (kb !== undefined) return Number(kb) * 1024
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024 // kilobytes
}

if (values.child !== undefined) {
  // Child mode: export and report wall time and peak RSS of this process only.
  const { exportEncoder } = await import("../src/export/index.ts")
  const [checkpointDir, outDir] = JSON.parse(values.child) as [string, string]
  const started = performance.now()
  await exportEncoder({ checkpointDir, outDir, task: values.task as "m3", dtype: values.dtype as "fp32" })
  const ms = performance.now() - started
  console.log(JSON.stringify({ ms, maxRssBytes: peakRssBytes() }))
  process.exit(0)
}

const dir = resolve(values.dir ?? join(process.env.KILN_BENCH_DIR ?? tmpdir(), "kiln-bench-export"))
const checkpointDir = join(dir, "bge-m3-synthetic")
const weights = join(checkpointDir, "pytorch_model.bin")
const outDir = join(dir, "exported")
const copyPath = join(dir, "pytorch_model.copy.bin")

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`

/** Reads a file to warm the page cache, so the copy and the export start from the same state. */
const readThrough = (path: string): void => {
  const fd = openSync(path, "r")
  const buffer = Buffer.allocUnsafe(16 << 20)
  while (readSync(fd, buffer, 0, buffer.length, null) > 0);
  closeSync(fd)
}


const cpCopy = (from: string, to: string): number => {
  const started = performance.now()
  const proc = Bun.spawnSync(["sh", "-c", `cp "$0" "$1" && sync "$1"`, from, to])
  if (proc.exitCode !== 0) throw new Error(`cp failed: ${proc.stderr.toString()}`)
  return performance.now() - started
}

printMachine()
try {
  if (!existsSync(weights)) {
    console.log(`synthesizing the bge-m3-size checkpoint into ${checkpointDir} (once) …`)
    const { synthesizeCheckpoint } = await import("../src/synth/index.ts")
    const started = performance.now()
    await synthesizeCheckpoint({ arch: "xlm-roberta", size: "bge-m3", task: "m3", seed: 1, out: checkpointDir })
    console.log(`  done in ${seconds(performance.now() - started)}`)
  } else console.log(`reusing ${checkpointDir}`)
  const weightBytes = statSync(weights).size

  const rounds = Number(values.rounds)
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${values.rounds}`)
  // transformers.js names the file by dtype: model.onnx (fp32) or model_fp16.onnx.
  const modelFile = join(outDir, "onnx", values.dtype === "fp16" ? "model_fp16.onnx" : "model.onnx")
  const runs: { copyMs: number; cpMs: number; exportMs: number; processMs: number; maxRssBytes: number }[] = []
  for (let round = 0; round < rounds; round++) {
    readThrough(weights)
    const copyMs = plainCopy(weights, copyPath)
    rmSync(copyPath, { force: true })
    const cpMs = cpCopy(weights, copyPath)
    rmSync(copyPath, { force: true })

    readThrough(weights)
    rmSync(outDir, { recursive: true, force: true })
    const started = performance.now()
    const child = Bun.spawnSync(["bun", "run", join(repo, "bench", "export.ts"), "--task", values.task!, "--dtype", values.dtype!, "--child", JSON.stringify([checkpointDir, outDir])], {
      stdout: "pipe",
      stderr: "pipe",
    })
    const processMs = performance.now() - started
    if (child.exitCode !== 0) throw new Error(`export child failed (exit ${child.exitCode}):\n${child.stderr.toString()}`)
    const figures = JSON.parse(child.stdout.toString().trim().split("\n").pop()!) as { ms: number; maxRssBytes: number }
    runs.push({ copyMs, cpMs, exportMs: figures.ms, processMs, maxRssBytes: figures.maxRssBytes })
    console.log(`round ${round + 1}/${rounds}: copy ${seconds(copyMs)}, cp ${seconds(cpMs)}, export ${seconds(processMs)} (${(processMs / copyMs).toFixed(2)}× copy)`)
  }
  const modelBytes = statSync(modelFile).size
  const dataBytes = existsSync(`${modelFile}_data`) ? statSync(`${modelFile}_data`).size : 0
  const median = (pick: (run: (typeof runs)[number]) => number): number => {
    const sorted = runs.map(pick).sort((a, b) => a - b)
    const mid = Math.floor(sorted.length / 2)
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  }
  const copyMs = median((r) => r.copyMs)
  const cpMs = median((r) => r.cpMs)
  const exportMs = median((r) => r.exportMs)
  const processMs = median((r) => r.processMs)
  const peakRssBytes = Math.max(...runs.map((r) => r.maxRssBytes))

  const ratio = processMs / copyMs
  const rows: [string, string, string][] = [
    ["pytorch_model.bin", gb(weightBytes), ""],
    [`plain copy (read/write + fsync), median of ${rounds}`, seconds(copyMs), `${gb(weightBytes / (copyMs / 1000))}/s`],
    ["cp + sync", seconds(cpMs), `${gb(weightBytes / (cpMs / 1000))}/s`],
    [`export ${values.task} ${values.dtype} (in child)`, seconds(exportMs), `${gb((modelBytes + dataBytes) / (exportMs / 1000))}/s written`],
    ["export process (incl. bun start-up)", seconds(processMs), `${ratio.toFixed(2)}× plain copy, ${(processMs / cpMs).toFixed(2)}× cp (goal ≤ 2.0×)`],
    ["export peak RSS (max)", gb(peakRssBytes), `goal ≤ 1.5 GB: ${peakRssBytes <= 1.5e9 ? "met" : "NOT met"}`],
    ["output", `${gb(modelBytes)} + ${gb(dataBytes)}`, `${basename(modelFile)} + ${basename(modelFile)}_data`],
  ]
  const width = Math.max(...rows.map((r) => r[0].length))
  for (const [name, value, note] of rows) console.log(`${name.padEnd(width)}  ${value.padStart(10)}  ${note}`)
  const path = await writeResult("export", {
    task: values.task,
    dtype: values.dtype,
    weightBytes,
    rounds: runs,
    copyMs,
    cpMs,
    exportMs,
    exportProcessMs: processMs,
    ratioToCopy: ratio,
    ratioToCp: processMs / cpMs,
    peakRssBytes,
    modelBytes,
    dataBytes,
    goals: { ratio: 2.0, peakRssBytes: 1.5e9 },
  })
  console.log(`wrote ${path}`)
} finally {
  rmSync(copyPath, { force: true })
  rmSync(outDir, { recursive: true, force: true })
  if (!values.keep) rmSync(dir, { recursive: true, force: true })
}
