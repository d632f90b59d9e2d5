// Benchmark: the headline command at its real shape — the bge-m3 int8 chain of
// pipelines/bge-m3-int8.ts (presetPipeline: export, calibrate, quantize with the sensitivity search,
// compile, deploy, evaluate int8 and fp32, fidelity, bench, and the run's report) on a synthetic
// bge-m3 (24 layers × 1024, generated XLM-R tokenizer, outlier channels) and ~3,100 sentence pairs
// (STS-B dev + test from --data when present, topped up with generated pairs; all generated
// otherwise), cold cache, in its own process. Reports each step's wall time (from the run's --json
// summary), the whole process's wall time, and — the peer in the same run — a plain copy of the
// checkpoint's weights (read/write + fsync on the same disk), with total ÷ copy.
// Then the sensitivity search alone, before vs after in the same run: the quantize step's library
// call (quantizeModel, the preset's static int8 with exclude "auto", calibration as the calibrate
// step writes it) with every configuration a full pass of the whole switchable model (the peer:
// the search as it was) and through layer segments that re-run only from the first layer a
// configuration changes (kiln's default); wall times, their ratio, and how far the two records differ.
//   bun run bench/pipeline.ts [--quick] [--pairs 3108] [--repeats 1] [--no-chain] [--no-search] [--dir DIR] [--data DIR] [--keep]
// --quick: a 12-layer × 384 bge-m3-layout model and 300 pairs, for development (minutes, not half an hour).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import { printMachine, writeResult } from "./machine.ts"
import { median, plainCopy } from "./measure.ts"

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    pairs: { type: "string" },
    repeats: { type: "string", default: "1" },
    dir: { type: "string" },
    data: { type: "string", default: resolve(import.meta.dir, "..", "..", "shared", "data") },
    keep: { type: "boolean", default: false },
    "no-chain": { type: "boolean", default: false },
    "no-search": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
    child: { type: "string" }, // internal: run the pipeline once, print the --json summary's steps
  },
})

if (values.help) {
  console.log(`bun run bench/pipeline.ts [--quick] [--pairs 3108] [--repeats 1] [--dir DIR] [--data DIR] [--keep]
  The headline run: pipelines/bge-m3-int8.ts's chain (presetPipeline bge-m3, int8 on the CPU, its report
  included) on a synthetic bge-m3 with outlier channels, cold cache, in its own process; each step's wall
  time, the process's total, and the peer: a plain copy of the weights (total ÷ copy). Then the
  sensitivity search alone (quantizeModel as the quantize step calls it): every configuration a
  whole-model pass (the search before) vs layer segments re-run from the first changed layer (now).
  --quick    a 12-layer × 384 bge-m3-layout model and 300 pairs (development)
  --pairs    sentence pairs for calibration, evaluation and fidelity (default 3108, the size of STS12; 300 with --quick):
             STS-B dev + test from --data, topped up with generated pairs (all generated when --data has none)
  --repeats  cold runs of the chain, and runs of each search; the tables show medians
  --no-chain / --no-search   skip the whole chain / the search comparison
  --dir      where the checkpoint (kept across runs) and the caches go (default $KILN_BENCH_DIR or the temp dir);
             --keep leaves the run's cache there`)
  process.exit(0)
}

interface Job {
  readonly modelDir: string
  readonly pairs: string
  readonly work: string
}

if (values.child !== undefined) {
  // Child mode: the whole chain as the pipeline file runs it, with the report hook of presetMain.
  const { executePipeline } = await import("../src/cli/index.ts")
  const { modelPreset, presetPipeline, presetReportSpec } = await import("../stdlib/presets/index.ts")
  const { runReport } = await import("../stdlib/report.ts")
  const { readConfigJson } = await import("../src/checkpoint/index.ts")
  const { resolveFamily } = await import("../src/families/index.ts")
  const job = JSON.parse(values.child) as Job
  // The preset with the checkpoint's dimensions: the real bge-m3's, or --quick's smaller ones.
  const read = readConfigJson(job.modelDir)
  const config = resolveFamily(read.json, read.file).config
  const base = modelPreset("bge-m3")
  const preset = {
    ...base,
    shape: { ...base.shape, hiddenSize: config.hiddenSize, numLayers: config.numLayers, numHeads: config.numHeads, intermediateSize: config.intermediateSize, vocabSize: config.vocabSize, maxPositions: config.maxPositions },
  } as typeof base
  const p = presetPipeline(preset, { precision: "int8", target: "cpu", modelDir: job.modelDir, calibrationFile: job.pairs, evalFile: job.pairs })
  let stdout = ""
  let stderr = ""
  const result = await executePipeline(p, join(job.work, "pipeline.ts"), ["--json", "--cache-dir", join(job.work, "cache")], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    report: runReport(() => presetReportSpec(preset, "int8")),
  })
  if (result.exitCode !== 0) {
    console.error(stderr)
    console.error(stdout)
    process.exit(1)
  }
  const summary = JSON.parse(stdout.trimEnd().split("\n").pop()!) as { steps: { id: string; status: string; ms: number }[] }
  console.log(JSON.stringify({ steps: summary.steps.map((s) => ({ id: s.id, status: s.status, ms: s.ms })) }))
  process.exit(0)
}

const { syntheticStsPairs, loadStsBenchmark } = await import("../src/datasets/index.ts")
const { synthesizeCheckpoint } = await import("../src/synth/index.ts")

const quick = values.quick
const pairCount = Number(values.pairs ?? (quick ? 300 : 3108))
const repeats = Number(values.repeats)
if (!Number.isInteger(pairCount) || pairCount < 10) throw new Error(`--pairs must be an integer ≥ 10, got ${values.pairs}`)
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer, got ${values.repeats}`)

const dir = resolve(values.dir ?? join(process.env.KILN_BENCH_DIR ?? tmpdir(), "kiln-bench-pipeline"))
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`


printMachine()
mkdirSync(dir, { recursive: true })

// The pairs: STS-B dev + test (real sentences, real lengths), then generated pairs up to --pairs.
const stsb = join(values.data!, "sts", "stsbenchmark")
const real = existsSync(join(stsb, "sts-dev.csv")) ? [...(await loadStsBenchmark(join(stsb, "sts-dev.csv"))), ...(await loadStsBenchmark(join(stsb, "sts-test.csv")))] : []
const chosen = [...real.slice(0, pairCount).map((p) => ({ sentence1: p.sentence1, sentence2: p.sentence2, score: p.score })), ...syntheticStsPairs(Math.max(0, pairCount - real.length), 13)]
const pairs = join(dir, `pairs-${pairCount}.jsonl`)
writeFileSync(pairs, chosen.map((p) => JSON.stringify(p)).join("\n") + "\n")
const source = real.length === 0 ? `${pairCount} generated pairs (no STS-B under ${stsb})` : `${Math.min(real.length, pairCount)} STS-B dev+test pairs${pairCount > real.length ? ` + ${pairCount - real.length} generated` : ""}`

const size = quick ? "bge-small" : "bge-m3"
const modelDir = join(dir, "checkpoints", `xlm-roberta-${size}-m3-outliers`)
if (!existsSync(join(modelDir, "config.json"))) {
  console.log(`synthesizing a bge-m3-layout ${size} checkpoint with outlier channels into ${modelDir} (kept for later runs) …`)
  const started = performance.now()
  rmSync(modelDir, { recursive: true, force: true })
  await synthesizeCheckpoint({ arch: "xlm-roberta", size, task: "m3", outliers: true, seed: 1, out: modelDir })
  console.log(`  done in ${seconds(performance.now() - started)}`)
}
const weights = readdirSync(modelDir).filter((f) => /\.(safetensors|bin)$/.test(f)).map((f) => join(modelDir, f))
const weightBytes = weights.reduce((sum, f) => sum + statSync(f).size, 0)
const config = JSON.parse(readFileSync(join(modelDir, "config.json"), "utf8")) as { num_hidden_layers: number; hidden_size: number; vocab_size: number }
const shape = `xlm-roberta ${config.num_hidden_layers}×${config.hidden_size}, vocab ${config.vocab_size}, ${(weightBytes / 2 ** 20).toFixed(0)} MiB fp32`
console.log(`model: ${shape}; pairs: ${source}`)

interface Run {
  readonly totalMs: number
  readonly copyMs: number
  readonly steps: readonly { id: string; status: string; ms: number }[]
}

/** The whole chain, cold, in its own process: each step's time, the total, and the weights copy. */
const chain = async () => {
  const runs: Run[] = []
  for (let r = 0; r < repeats; r++) {
    const work = join(dir, "run")
    rmSync(work, { recursive: true, force: true })
    mkdirSync(work, { recursive: true })
    const copyMs = weights.reduce((sum, f) => sum + plainCopy(f, join(work, "copy.bin")), 0)
    console.log(`run ${r + 1}/${repeats}: plain copy of the weights ${seconds(copyMs)}; running the chain (cold cache) …`)
    const started = performance.now()
    const child = Bun.spawnSync(["bun", import.meta.path, "--child", JSON.stringify({ modelDir, pairs, work } satisfies Job)], { stdout: "pipe", stderr: "pipe" })
    const totalMs = performance.now() - started
    if (child.exitCode !== 0) throw new Error(`the pipeline failed (exit ${child.exitCode}):\n${child.stderr.toString()}${child.stdout.toString()}`)
    const { steps } = JSON.parse(child.stdout.toString().trim().split("\n").pop()!) as { steps: Run["steps"] }
    for (const s of steps) console.log(`  ${s.id.padEnd(24)} ${s.status.padEnd(7)} ${seconds(s.ms).padStart(9)}`)
    console.log(`run ${r + 1}/${repeats}: whole process ${seconds(totalMs)} (${(totalMs / copyMs).toFixed(0)}× the weights copy)`)
    runs.push({ totalMs, copyMs, steps })
    if (!values.keep) rmSync(work, { recursive: true, force: true })
  }
  const ids = runs[0]!.steps.map((s) => s.id)
  const stepMs = (id: string) => median(runs.map((r) => r.steps.find((s) => s.id === id)?.ms ?? 0))
  const totalMs = median(runs.map((r) => r.totalMs))
  const copyMs = median(runs.map((r) => r.copyMs))
  console.log(`\n${quick ? "--quick: " : ""}bge-m3 int8 chain (${shape}), ${source}, cold cache, ${repeats === 1 ? "one run" : `median of ${repeats} runs`}`)
  const width = Math.max(...ids.map((id) => id.length), 25)
  for (const id of ids) console.log(`  ${id.padEnd(width)} ${seconds(stepMs(id)).padStart(9)}  ${((stepMs(id) / totalMs) * 100).toFixed(1).padStart(5)}% of the total  (${runs[0]!.steps.find((s) => s.id === id)!.status})`)
  console.log(`  ${"whole process".padEnd(width)} ${seconds(totalMs).padStart(9)}  (steps overlap where the graph lets them; the report is written after them)`)
  console.log(`  ${"peer: copy of the weights".padEnd(width)} ${seconds(copyMs).padStart(9)}  total ÷ copy = ${(totalMs / copyMs).toFixed(1)}×`)
  return { totalMs, copyMs, steps: Object.fromEntries(ids.map((id) => [id, stepMs(id)])), runs }
}

/**
 * The sensitivity search alone, as the quantize step runs it (quantizeModel, 2 threads, the preset's
 * int8 options on the calibrate step's set), with the whole switchable model per configuration (the
 * search before) and with layer segments (now), alternating; the two records compared.
 */
const search = async () => {
  const { exportEncoder } = await import("../src/export/index.ts")
  const { writeCalibrationSet } = await import("../src/calibration/index.ts")
  const { loadTokenizer } = await import("../src/tokenize/index.ts")
  const { quantizeModel } = await import("../src/quant/index.ts")
  const { modelPreset } = await import("../stdlib/presets/index.ts")
  const preset = modelPreset("bge-m3")
  const exported = join(dir, "exports", `xlm-roberta-${size}-m3-outliers`)
  if (!existsSync(join(exported, "kiln.json"))) {
    console.log(`exporting the checkpoint for the search comparison into ${exported} (kept for later runs) …`)
    rmSync(exported, { recursive: true, force: true })
    await exportEncoder({ checkpointDir: modelDir, outDir: exported, task: "m3" })
  }
  // What the calibrate step writes for the preset: 100 distinct texts at the preset's seqlen.
  const work = join(dir, "search")
  rmSync(work, { recursive: true, force: true })
  const calibration = join(work, "calibration")
  const tokenizer = await loadTokenizer(exported, { maxLength: preset.seqlen })
  const texts = [...new Set(chosen.flatMap((p) => [p.sentence1, p.sentence2]))].slice(0, 100)
  writeCalibrationSet(tokenizer.encode(texts, { padding: "max_length", maxLength: preset.seqlen }), calibration, { seqlen: preset.seqlen, padId: tokenizer.padTokenId })
  const modes = ["switchable", "segmented"] as const
  const times: Record<(typeof modes)[number], number[]> = { switchable: [], segmented: [] }
  const records: Record<string, { steps: { keptFloat: readonly string[]; mean: number; min: number }[]; groups: { group: string; loss: number }[]; keptFloat: { group: string }[] }> = {}
  const searchLines: Record<string, string> = {}
  for (let r = 0; r < repeats; r++)
    for (const mode of r % 2 === 0 ? modes : [...modes].reverse()) {
      const out = join(work, mode)
      rmSync(out, { recursive: true, force: true })
      const started = performance.now()
      const result = await quantizeModel(
        join(exported, "onnx", "model.onnx"),
        out,
        { scheme: "static-int8", calibration, method: preset.int8.method, exclude: "auto", budget: preset.int8.budget },
        { threads: 2, tmpDir: join(work, "scratch"), candidates: mode, log: (line) => /configurations measured in/.test(line) && (searchLines[mode] = line.replace(/^sensitivity: /, "")) },
      )
      const ms = performance.now() - started
      times[mode].push(ms)
      records[mode] = result.record.details.sensitivity as (typeof records)[string]
      console.log(`search run ${r + 1}/${repeats}, ${mode === "switchable" ? "whole model per configuration (before)" : "layer segments (now)"}: quantize ${seconds(ms)}, kept float ${JSON.stringify(records[mode]!.keptFloat.map((k) => k.group))}`)
      rmSync(out, { recursive: true, force: true })
    }
  const before = records.switchable!
  const after = records.segmented!
  const sameSteps = before.steps.length === after.steps.length && before.steps.every((s, i) => s.keptFloat.join() === after.steps[i]!.keptFloat.join())
  const maxMeanDiff = Math.max(0, ...before.steps.map((s, i) => Math.abs(s.mean - (after.steps[i]?.mean ?? NaN))), ...before.groups.map((g) => Math.abs(g.loss - (after.groups.find((x) => x.group === g.group)?.loss ?? NaN))))
  const beforeMs = median(times.switchable)
  const afterMs = median(times.segmented)
  console.log(`\nsensitivity search (quantizeModel: calibration + search + the chosen model), ${shape}, ${before.groups.length} groups, ${before.steps.length} configurations after the probes${repeats > 1 ? `, median of ${repeats}` : ""}`)
  console.log(`  whole switchable model per configuration (before)  ${seconds(beforeMs).padStart(9)}`)
  console.log(`  layer segments from the first changed layer (now)  ${seconds(afterMs).padStart(9)}  now ÷ before = ${(afterMs / beforeMs).toFixed(2)}×`)
  for (const mode of modes) console.log(`  ${mode}: ${searchLines[mode]}`)
  console.log(`  records: ${sameSteps ? "the same configurations measured" : "DIFFERENT configurations measured"}, same kept groups: ${JSON.stringify(before.keptFloat) === JSON.stringify(after.keptFloat)}, largest |Δ| of a measured mean or group loss: ${maxMeanDiff.toExponential(2)}`)
  if (!values.keep) rmSync(work, { recursive: true, force: true })
  return { beforeMs, afterMs, ratio: afterMs / beforeMs, times, sameSteps, sameKept: JSON.stringify(before.keptFloat) === JSON.stringify(after.keptFloat), maxMeanDiff, searchLines }
}

const chainResult = values["no-chain"] ? undefined : await chain()
const searchResult = values["no-search"] ? undefined : await search()
console.log(`results: ${await writeResult(quick ? "pipeline-quick" : "pipeline", { quick, pairs: pairCount, source, shape, repeats, chain: chainResult, search: searchResult })}`)
