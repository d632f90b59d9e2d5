// Benchmark: the price of the process boundary every real vacc run pays. On a bge-small-en-v1.5-
// shaped synthetic BERT (12 layers, hidden 384) with the real bge-base-en-v1.5 tokenizer and the
// STS-B test sentences from ../shared/data, the same texts are embedded, in the same run, by
//   cpu        the cpu target's full embed (ONNX Runtime, the preset's compile: CLS output only)
//   vacc-rt    the vacc target's Embedder with the stand-in vaststreamx computing nothing
//              (KILN_STANDIN_COMPUTE=none: zeros of the right shape) — tokenization, padding to a
//              compiled seqlen, the Python runner's binary protocol and its run_sync loop: what
//              kiln adds around a card, and all this machine can measure of the vacc path
//   vacc-sim   the same through the stand-in that computes (ONNX Runtime in a Bun helper behind
//              the Python module): the harness overhead of the stand-in path, not a card's speed
// Goal (issue 11): the round trip costs ≤ 5 % of the cpu embed time at batch 32, ≤ 20 % at batch 1.
// Runs alternate per repeat; the headline is the median. No card is needed or used.
//   bun run bench/target.ts [--texts 2000] [--repeats 3] [--batches 1,32] [--seqlens 64,128,256,512] [--threads 2] [--no-sim]
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { executePipeline } from "../src/cli/index.ts"
import { local, pipeline } from "../src/engine/index.ts"
import { closeDeployment, embedTexts, openDeployment, type Deployment } from "../src/evaluate/index.ts"
import { loadStsBenchmark } from "../src/datasets/index.ts"
import { synthesizeCheckpoint } from "../src/synth/index.ts"
import { deviceExportParams, standInEnvironment, standInPython } from "../src/targets/index.ts"
import { compile, deploy, exportOnnx } from "../stdlib/index.ts"
import { printMachine, writeResult } from "./machine.ts"
import { median } from "./measure.ts"

const { values } = parseArgs({
  options: {
    texts: { type: "string", default: "2000" },
    repeats: { type: "string", default: "3" },
    batches: { type: "string", default: "1,32" },
    seqlens: { type: "string", default: "64,128,256,512" },
    threads: { type: "string", default: "2" },
    "no-sim": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
})
if (values.help) {
  console.log(`bun run bench/target.ts [--texts 2000] [--repeats 3] [--batches 1,32] [--seqlens 64,128,256,512] [--threads 2] [--no-sim]
  The vacc runner round trip (Python runner + stand-in computing nothing) against the cpu target's
  full embed of the same batches, and the computing stand-in path, on a bge-small-shaped model with
  the ../shared/data tokenizer and STS-B sentences. Reports medians of alternating runs and ratios.`)
  process.exit(0)
}
const textCount = Number(values.texts)
const repeats = Number(values.repeats)
const batches = values.batches.split(",").map(Number)
const seqlens = values.seqlens.split(",").map(Number)
const threads = Number(values.threads)
const shared = join(import.meta.dir, "..", "..", "shared", "data")
const tokenizerDir = join(shared, "tokenizers", "bge-base-en-v1.5")
const stsFile = join(shared, "sts", "stsbenchmark", "sts-test.csv")
if (standInPython() === null) throw new Error("bench/target.ts needs a python3 with numpy for the stand-in vaststreamx module")

const dir = await mkdtemp(join(process.env.KILN_BENCH_DIR ?? tmpdir(), "kiln-bench-target-"))
Object.assign(process.env, standInEnvironment())

try {
  printMachine()
  const checkpoint = join(dir, "checkpoint")
  await synthesizeCheckpoint({ arch: "bert", size: "bge-small", task: "embedding", seed: 1, out: checkpoint, tokenizerDir })
  const ckpt = local("hf-checkpoint", checkpoint, "checkpoint")
  const cpu = deploy({}).as("deploy-cpu").to(compile({ target: "cpu", outputs: ["sentence_embedding"] }).as("compile-cpu").to(exportOnnx({ task: "embedding" }).as("export-cpu").to(ckpt)))
  const vacc = deploy({}).as("deploy-vacc").to(compile({ target: "vacc", seqlens }).as("compile-vacc").to(exportOnnx(deviceExportParams("embedding")).as("export-vacc").to(ckpt)))
  let out = ""
  const built = await executePipeline(pipeline("bench-target", cpu).also(vacc), join(dir, "bench-target.ts"), ["--json", "--cache-dir", join(dir, "cache")], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: () => true },
  })
  if (built.exitCode !== 0) throw new Error(`building the deployments failed: ${out.slice(-2000)}`)
  const steps = (JSON.parse(out.trimEnd().split("\n").pop()!) as { steps: { id: string; outputs: { out?: { path: string } } }[] }).steps
  const pathOf = (id: string) => steps.find((s) => s.id === id)!.outputs.out!.path

  const pairs = await loadStsBenchmark(stsFile)
  const texts = pairs.flatMap((p) => [p.sentence1, p.sentence2]).slice(0, textCount)
  const open = async (id: string, compute: "none" | "onnx"): Promise<Deployment & { kind: "embedder" }> => {
    // The runner inherits the environment when it starts: the stand-in reads the switch then.
    if (compute === "none") process.env.KILN_STANDIN_COMPUTE = "none"
    else delete process.env.KILN_STANDIN_COMPUTE
    const d = await openDeployment(pathOf(id), { threads })
    if (d.kind !== "embedder") throw new Error(`${id} is not an embedder`)
    return d
  }
  const runners: { name: string; d: Deployment & { kind: "embedder" } }[] = [
    { name: "cpu", d: await open("deploy-cpu", "onnx") },
    { name: "vacc-rt", d: await open("deploy-vacc", "none") },
    ...(values["no-sim"] ? [] : [{ name: "vacc-sim", d: await open("deploy-vacc", "onnx") }]),
  ]
  console.log(`${texts.length} STS-B sentences, bge-small-shaped BERT, vacc seqlens ${seqlens.join(", ")}, ${threads} threads, ${repeats} repeats (alternating)`)
  const results: Record<string, Record<string, number[]>> = {}
  for (const batch of batches) {
    results[batch] = Object.fromEntries(runners.map((r) => [r.name, [] as number[]]))
    // Warm-up: one short pass each (sessions, JIT, the runner's first frames).
    for (const r of runners) await embedTexts(r.d, texts.slice(0, 64), batch)
    for (let i = 0; i < repeats; i++) {
      for (const r of runners) {
        const started = performance.now()
        await embedTexts(r.d, texts, batch)
        results[batch]![r.name]!.push(performance.now() - started)
      }
    }
  }
  for (const r of runners) await closeDeployment(r.d)

  const rows = batches.map((batch) => {
    const m = Object.fromEntries(Object.entries(results[batch]!).map(([name, xs]) => [name, median(xs)])) as Record<string, number>
    return {
      batch,
      cpuMs: m.cpu!,
      roundTripMs: m["vacc-rt"]!,
      roundTripShare: m["vacc-rt"]! / m.cpu!,
      goal: batch >= 32 ? 0.05 : 0.2,
      ...(m["vacc-sim"] !== undefined ? { standInMs: m["vacc-sim"], standInVsCpu: m["vacc-sim"] / m.cpu! } : {}),
      runs: results[batch],
    }
  })
  console.log("\nbatch  cpu embed   vacc round trip  share of cpu  goal    stand-in path  stand-in / cpu")
  for (const r of rows) {
    const sim = "standInMs" in r && r.standInMs !== undefined ? `${(r.standInMs / 1000).toFixed(2).padStart(9)} s  ${r.standInVsCpu!.toFixed(2).padStart(8)}×` : "        —"
    console.log(
      `${String(r.batch).padStart(5)}  ${(r.cpuMs / 1000).toFixed(2).padStart(7)} s  ${(r.roundTripMs / 1000).toFixed(2).padStart(13)} s  ${(r.roundTripShare * 100).toFixed(1).padStart(10)} %  ≤${(r.goal * 100).toFixed(0).padStart(2)} %  ${r.roundTripShare <= r.goal ? "met" : "NOT met"}  ${sim}`,
    )
  }
  const file = await writeResult("target", { texts: texts.length, seqlens, threads, repeats, rows })
  console.log(`\nwritten ${file}`)
} finally {
  await rm(dir, { recursive: true, force: true })
}
