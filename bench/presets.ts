// Benchmark: every model preset at its real shape (synthetic weights), through the preset's own
// pipeline (presetPipeline, int8): wall time and peak RSS of export, quantize (calibrate + int8
// with the preset's default sensitivity search) and compile, one table. Each stage runs in its own
// child process (`--until <node>` on a shared cache, so earlier stages are hits and the child's
// peak RSS is its stage's); the peer is a plain copy of the checkpoint's weights (read/write +
// fsync) on the same disk in the same run, and the table gives export / copy. Then a Hub download
// of a large LFS file from a local Hub-shaped server vs `curl` of the same file (bench/hub-download.ts,
// goal ≤ 1.2× curl, RSS not growing with the file).
//   bun run bench/presets.ts [--models bge-small-en-v1.5,…] [--repeats 1] [--size-mib 2048] [--download-repeats 3]
//                            [--no-models] [--no-download] [--dir DIR] [--data DIR] [--keep]
// Real shapes are large (bge-m3 and the large models ≈ 1.3–2.2 GB of fp32 weights, quantize with
// the sensitivity search runs many trial passes): --models picks presets. Checkpoints are
// synthesized into DIR (default $KILN_BENCH_DIR or the temp dir), reused while present, and
// removed at the end unless --keep.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import { printMachine, writeResult } from "./machine.ts"
import { median, plainCopy } from "./measure.ts"

const { values } = parseArgs({
  options: {
    models: { type: "string" },
    repeats: { type: "string", default: "1" },
    "size-mib": { type: "string", default: "2048" },
    "download-repeats": { type: "string", default: "3" },
    "no-models": { type: "boolean", default: false },
    "no-download": { type: "boolean", default: false },
    dir: { type: "string" },
    data: { type: "string", default: resolve(import.meta.dir, "..", "..", "shared", "data") },
    keep: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
    child: { type: "string" }, // internal: run one stage, print its figures as JSON
  },
})

if (values.help) {
  console.log(`bun run bench/presets.ts [--models a,b] [--repeats 1] [--size-mib 2048] [--download-repeats 3] [--no-models] [--no-download] [--dir DIR] [--data DIR] [--keep]
  Each preset at its real shape (synthetic weights) through its int8 pipeline: wall time and peak RSS of
  export, quantize (calibrate + int8, default sensitivity search) and compile, each stage in its own
  process; peer: a plain copy of the weights file (export / copy). Then bench/hub-download.ts: a Hub
  download of a --size-mib LFS file vs curl (median ratio, goal ≤ 1.2×).
  --models     comma-separated preset names (default: all ten; the large ones take long)
  --repeats    runs of each preset's stages (fresh cache each); the table shows medians
  --data       the shared data folder (real bge-small-zh / bge-base-en tokenizers); Chinese presets need it
  --dir        where checkpoints and caches go (default $KILN_BENCH_DIR or the temp dir); --keep leaves them`)
  process.exit(0)
}

const peakRssBytes = (): number => Number(/^VmHWM:\s*(\d+)\s*kB/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) * 1024

/** The stages measured, by the node id presetPipeline gives them in its int8 chain. */
const stages = [
  { name: "export", until: "exportOnnx", nodes: ["exportOnnx"] },
  { name: "quantize", until: "quantize", nodes: ["calibrate", "quantize"] },
  { name: "compile", until: "compile", nodes: ["compile"] },
] as const

if (values.child !== undefined) {
  // Child mode: run the preset's int8 pipeline up to one node; report the stage's step times and this process's peak RSS.
  const { executePipeline } = await import("../src/cli/index.ts")
  const { modelPreset, presetPipeline } = await import("../stdlib/presets/index.ts")
  const job = JSON.parse(values.child) as { preset: string; modelDir: string; pairs: string; rerank: string; work: string; until: string }
  const preset = modelPreset(job.preset)
  const evalFile = preset.task === "reranker" ? job.rerank : job.pairs
  const p = presetPipeline(preset, { precision: "int8", target: "cpu", modelDir: job.modelDir, calibrationFile: job.pairs, evalFile })
  let stdout = ""
  let stderr = ""
  const result = await executePipeline(p, join(job.work, "pipeline.ts"), ["--json", "--cache-dir", join(job.work, "cache"), "--until", job.until], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  })
  if (result.exitCode !== 0) {
    console.error(stderr)
    process.exit(1)
  }
  const summary = JSON.parse(stdout.trimEnd().split("\n").pop()!) as { steps: { id: string; status: string; ms: number }[] }
  console.log(JSON.stringify({ steps: Object.fromEntries(summary.steps.map((s) => [s.id, { status: s.status, ms: s.ms }])), peakRssBytes: peakRssBytes() }))
  process.exit(0)
}

const { modelPresets } = await import("../stdlib/presets/index.ts")
const { syntheticRerankQueries, syntheticStsPairs } = await import("../src/datasets/index.ts")
const { synthesizeCheckpoint } = await import("../src/synth/index.ts")

const tokenizerDirs = { english: join(values.data!, "tokenizers", "bge-base-en-v1.5"), chinese: join(values.data!, "tokenizers", "bge-small-zh-v1.5") }

const names = values.models === undefined ? modelPresets.map((p) => p.name) : values.models.split(",").map((s) => s.trim()).filter((s) => s !== "")
for (const name of names) {
  if (!modelPresets.some((p) => p.name === name)) throw new Error(`--models: unknown preset "${name}"; known: ${modelPresets.map((p) => p.name).join(", ")}`)
}
const repeats = Number(values.repeats)
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer, got ${values.repeats}`)

const dir = resolve(values.dir ?? join(process.env.KILN_BENCH_DIR ?? tmpdir(), "kiln-bench-presets"))
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`


interface Row {
  preset: string
  shape: string
  weightBytes: number
  copyMs: number
  stages: Record<string, { ms: number; peakRssBytes: number }>
}

printMachine()
const rows: Row[] = []
const skipped: string[] = []
if (!values["no-models"]) {
  mkdirSync(dir, { recursive: true })
  const pairs = join(dir, "pairs.jsonl")
  const rerank = join(dir, "rerank.jsonl")
  writeFileSync(pairs, syntheticStsPairs(200, 7).map((p) => JSON.stringify(p)).join("\n") + "\n")
  writeFileSync(rerank, syntheticRerankQueries(20, 7).map((q) => JSON.stringify({ query: q.query, pos: q.positives, neg: q.negatives })).join("\n") + "\n")
  for (const name of names) {
    const preset = modelPresets.find((p) => p.name === name)!
    const synth = preset.synth
    const tokenizerDir = synth.tokenizer !== "xlm-roberta" ? tokenizerDirs[synth.tokenizer] : undefined
    if (synth.tokenizer === "chinese" && !existsSync(tokenizerDir!)) {
      skipped.push(`${name}: no Chinese tokenizer at ${tokenizerDir} (its vocabulary is part of the shape; --data)`)
      continue
    }
    const modelDir = join(dir, "checkpoints", name)
    if (!existsSync(join(modelDir, "config.json"))) {
      console.log(`synthesizing ${name} (${preset.shape.family} ${synth.size}, task ${preset.task}) into ${modelDir} …`)
      const started = performance.now()
      await synthesizeCheckpoint({ arch: preset.shape.family, size: synth.size, task: preset.task, seed: 1, out: modelDir, ...(tokenizerDir !== undefined && existsSync(tokenizerDir) ? { tokenizerDir } : {}) })
      console.log(`  done in ${seconds(performance.now() - started)}`)
    }
    const weights = readdirSync(modelDir).filter((f) => /\.(safetensors|bin)$/.test(f)).map((f) => join(modelDir, f))
    const weightBytes = weights.reduce((sum, f) => sum + statSync(f).size, 0)
    const runs: { copyMs: number; stages: Row["stages"] }[] = []
    for (let r = 0; r < repeats; r++) {
      const work = join(dir, "runs", name)
      rmSync(work, { recursive: true, force: true })
      mkdirSync(work, { recursive: true })
      const copyMs = weights.reduce((sum, f) => sum + plainCopy(f, join(work, "copy.bin")), 0)
      const measured: Row["stages"] = {}
      try {
        for (const stage of stages) {
          const child = Bun.spawnSync(["bun", import.meta.path, "--child", JSON.stringify({ preset: name, modelDir, pairs, rerank, work, until: stage.until })], { stdout: "pipe", stderr: "pipe" })
          if (child.exitCode !== 0) throw new Error(`${name} ${stage.name} failed (exit ${child.exitCode}):\n${child.stderr.toString()}${child.stdout.toString()}`)
          const figures = JSON.parse(child.stdout.toString().trim().split("\n").pop()!) as { steps: Record<string, { status: string; ms: number }>; peakRssBytes: number }
          const ran = stage.nodes.map((id) => figures.steps[id])
          if (ran.some((s) => s?.status !== "ran")) throw new Error(`${name} ${stage.name}: expected ${stage.nodes.join(", ")} to run, got ${JSON.stringify(figures.steps)}`)
          measured[stage.name] = { ms: ran.reduce((sum, s) => sum + s!.ms, 0), peakRssBytes: figures.peakRssBytes }
          console.log(`${name} run ${r + 1}/${repeats}: ${stage.name} ${seconds(measured[stage.name]!.ms)}, peak RSS ${mib(figures.peakRssBytes)}`)
        }
      } finally {
        if (!values.keep) rmSync(work, { recursive: true, force: true })
      }
      console.log(`${name} run ${r + 1}/${repeats}: plain copy of the weights ${seconds(copyMs)}`)
      runs.push({ copyMs, stages: measured })
    }
    const s = preset.shape
    rows.push({
      preset: name,
      shape: `${s.family} ${s.numLayers}×${s.hiddenSize}, vocab ${s.vocabSize}`,
      weightBytes,
      copyMs: median(runs.map((r) => r.copyMs)),
      stages: Object.fromEntries(stages.map((st) => [st.name, { ms: median(runs.map((r) => r.stages[st.name]!.ms)), peakRssBytes: Math.max(...runs.map((r) => r.stages[st.name]!.peakRssBytes)) }])),
    })
  }

  const header = ["preset", "shape", "weights", "copy", "export", "÷copy", "RSS", "quantize", "RSS", "compile", "RSS"]
  const table = rows.map((r) => [
    r.preset,
    r.shape,
    mib(r.weightBytes),
    seconds(r.copyMs),
    seconds(r.stages.export!.ms),
    `${(r.stages.export!.ms / r.copyMs).toFixed(2)}×`,
    mib(r.stages.export!.peakRssBytes),
    seconds(r.stages.quantize!.ms),
    mib(r.stages.quantize!.peakRssBytes),
    seconds(r.stages.compile!.ms),
    mib(r.stages.compile!.peakRssBytes),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)))
  console.log(`\nint8 pipeline stages at the real shapes (synthetic weights), ${repeats === 1 ? "one run" : `median of ${repeats} runs`} each; RSS = the stage's process peak`)
  for (const row of [header, ...table]) console.log(row.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "))
  for (const line of skipped) console.log(`skipped ${line}`)
  if (!values.keep) rmSync(join(dir, "runs"), { recursive: true, force: true })
}

let download: unknown
if (!values["no-download"]) {
  console.log(`\nHub download vs curl (bench/hub-download.ts --size-mib ${values["size-mib"]} --repeats ${values["download-repeats"]})`)
  const child = Bun.spawnSync(["bun", join(import.meta.dir, "hub-download.ts"), "--size-mib", values["size-mib"]!, "--repeats", values["download-repeats"]!], { stdout: "inherit", stderr: "inherit" })
  if (child.exitCode !== 0) throw new Error(`bench/hub-download.ts failed (exit ${child.exitCode})`)
  download = JSON.parse(readFileSync(join(import.meta.dir, "results", "hub-download.json"), "utf8"))
}

if (!values.keep && !values["no-models"]) rmSync(dir, { recursive: true, force: true })
console.log(`results: ${await writeResult("presets", { repeats, rows, skipped, download })}`)
