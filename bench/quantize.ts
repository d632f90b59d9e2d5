// Benchmark: quantized variants (fp16, dynamic int8, static int8 by calibration method, automatic
// mixed precision; with and without SmoothQuant smoothing) of a synthetic bge-small-shaped BERT with
// outlier channels against its fp32 export, in one run: mean/min cosine of sentence embeddings on
// held-out STS-B test sentences, throughput at 2 threads measured alternately with fp32, and the
// wall time of calibration + quantization. Then a bge-reranker-base-shaped XLM-R reranker with
// outliers: Spearman of int8 vs fp32 scores on FlagEmbedding's example pairs, beside the spread of the
// fp32 scores and the mean |Δ| (how far int8 noise reaches against the gaps between scores).
// Goals (issue 5): dynamic int8 cos ≥ 0.995 and ≥ 1.8× fp32; static int8 + auto mixed precision
// mean ≥ 0.999, min ≥ 0.99, ≥ 1.5×; fp16 mean ≥ 0.9999; reranker int8 Spearman ≥ 0.995.
// "smooth" is kiln's default smoothing with a calibration set: each channel centred by a shift folded
// into constants (Outlier Suppression+), then SmoothQuant scaling where outlier channels remain; one
// row shows SmoothQuant scaling alone. GPTQ rows (weightRounding: "gptq", act order) beside them:
// dynamic + smooth + gptq, the same with auto mixed precision (budget 0.995), static + smooth + gptq + auto mixed.
//   bun run bench/quantize.ts [--dir DIR] [--data DIR] [--texts 500] [--calibration 640] [--reranker-calibration 160] [--rounds 5] [--no-reranker] [--keep]
//                             [--only gptq[,…]] [--method percentile]
// --only: just fp32 and the embedding rows whose name contains one of the comma-separated strings (no
// reranker); the static method is then --method instead of the best on held-out samples.
// Synthetic checkpoints and fp32 exports are cached in DIR (default $KILN_BENCH_DIR or the temp
// dir) across runs; quantized variants and bundles are rebuilt every run and removed unless --keep.
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import { readModelManifest, renderModelManifest } from "../src/artifacts/index.ts"
import { writeCalibrationSet } from "../src/calibration/index.ts"
import { loadRerankingJsonl, loadStsBenchmark } from "../src/datasets/index.ts"
import { exportEncoder } from "../src/export/index.ts"
import { embeddingFidelity, rerankerFidelity } from "../src/metrics/index.ts"
import { manifestWeights, quantizeModel, verifyIntegerKernels, type QuantizeOptions, type QuantizeModelResult } from "../src/quant/index.ts"
import { Embedder, Reranker, writeBundle } from "../src/runtime/index.ts"
import { synthesizeCheckpoint } from "../src/synth/index.ts"
import { loadTokenizer } from "../src/tokenize/index.ts"
import { printMachine, writeResult } from "./machine.ts"

const { values } = parseArgs({
  options: {
    dir: { type: "string" },
    data: { type: "string", default: resolve(import.meta.dir, "..", "..", "shared", "data") },
    texts: { type: "string", default: "500" },
    // 640 STS-B sentences ≈ 7,700 real tokens: GPTQ's Hessians for the 1,536-wide FFN input need more
    // tokens than channels (160 sentences gave ~1,300: rank-deficient).
    calibration: { type: "string", default: "640" },
    "reranker-calibration": { type: "string", default: "160" },
    seqlen: { type: "string", default: "128" },
    rounds: { type: "string", default: "5" },
    threads: { type: "string", default: "2" },
    "no-reranker": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    only: { type: "string" },
    method: { type: "string", default: "percentile" },
    help: { type: "boolean", short: "h" },
  },
})
if (values.help) {
  console.log(`Usage: bun run bench/quantize.ts [--dir DIR] [--data DIR] [--texts 500] [--calibration 640] [--reranker-calibration 160]
                             [--seqlen 128] [--rounds 5] [--threads 2] [--no-reranker] [--keep] [--only gptq[,…]] [--method percentile]
  fp16 / dynamic / static / mixed int8 (with and without smoothing, GPTQ) vs fp32 on a bge-small-shaped model with outlier
  channels: fidelity, speed measured alternately with fp32, calibration + quantization time; then a reranker`)
  process.exit(0)
}

const threads = Number(values.threads)
const evalCount = Number(values.texts)
const calibrationCount = Number(values.calibration)
const rerankerCalibrationCount = Number(values["reranker-calibration"])
const seqlen = Number(values.seqlen)
const rounds = Number(values.rounds)
const data = resolve(values.data!)
const only = values.only === undefined ? undefined : values.only.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
const selected = (v: { name: string }) => only === undefined || only.some((s) => v.name.includes(s))
const methods = ["max", "percentile", "entropy"] as const
type Method = (typeof methods)[number]
if (!(methods as readonly string[]).includes(values.method!)) throw new Error(`--method: expected one of ${methods.join(", ")}, got "${values.method}"`)
// Bump when the synthetic checkpoints or their export change, so a stale cache is not reused.
const cacheVersion = "v1"
const dir = resolve(values.dir ?? join(process.env.KILN_BENCH_DIR ?? tmpdir(), "kiln-bench-quantize"))
const work = join(dir, "run")

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`
const log = (line: string) => console.log(`  ${line}`)
const timed = async <T>(body: () => Promise<T>): Promise<[T, number]> => {
  const started = performance.now()
  const value = await body()
  return [value, performance.now() - started]
}

/** A synthetic checkpoint exported to fp32, both cached in `dir`. */
const fp32Model = async (name: string, spec: Parameters<typeof synthesizeCheckpoint>[0] extends infer O ? Omit<O & object, "out"> : never, task: "embedding" | "reranker") => {
  const checkpoint = join(dir, `${name}-${cacheVersion}`, "checkpoint")
  const exported = join(dir, `${name}-${cacheVersion}`, "fp32")
  if (!existsSync(join(checkpoint, "config.json"))) {
    console.log(`synthesizing ${name} into ${checkpoint} (once) …`)
    rmSync(checkpoint, { recursive: true, force: true })
    await synthesizeCheckpoint({ ...spec, out: checkpoint })
  }
  if (!existsSync(join(exported, "kiln.json"))) {
    console.log(`exporting ${name} (once) …`)
    rmSync(exported, { recursive: true, force: true })
    await exportEncoder({ checkpointDir: checkpoint, outDir: exported, task })
  }
  return exported
}

/** A model folder beside fp32's holding the quantized file, as the quantize step writes it. */
const modelFolder = async (fp32Dir: string, out: string, result: QuantizeModelResult | undefined) => {
  for (const entry of readdirSync(fp32Dir)) if (entry !== "onnx" || result === undefined) cpSync(join(fp32Dir, entry), join(out, entry), { recursive: true })
  if (result === undefined) return out
  const manifest = readModelManifest(fp32Dir)
  await Bun.write(
    join(out, "kiln.json"),
    renderModelManifest({ ...manifest, model: result.file, externalData: null, weights: manifestWeights(result.record), quantization: result.record, optimization: null }),
  )
  return out
}

interface Variant {
  readonly name: string
  readonly options?: QuantizeOptions
  /** Goals checked on this row. */
  readonly goal?: { readonly mean?: number; readonly min?: number; readonly speedup?: number; readonly spearman?: number }
}

interface Built {
  readonly variant: Variant
  readonly bundle: string
  readonly quantizeMs: number
  readonly result?: QuantizeModelResult
  readonly kernels?: { readonly integer: number; readonly floatFedByDq: number }
}

const build = async (fp32Dir: string, where: string, variant: Variant): Promise<Built> => {
  const folder = join(where, "models", variant.name.replaceAll(/[^a-z0-9]+/gi, "-"))
  const bundle = join(where, "bundles", variant.name.replaceAll(/[^a-z0-9]+/gi, "-"))
  rmSync(folder, { recursive: true, force: true })
  rmSync(bundle, { recursive: true, force: true })
  let result: QuantizeModelResult | undefined
  let quantizeMs = 0
  let kernels: Built["kernels"]
  if (variant.options !== undefined) {
    ;[result, quantizeMs] = await timed(() => quantizeModel(join(fp32Dir, "onnx", "model.onnx"), folder, variant.options!, { threads, tmpDir: join(where, "scratch"), log: () => {} }))
    rmSync(join(where, "scratch"), { recursive: true, force: true })
    if (variant.options.scheme !== "fp16") {
      const proof = await verifyIntegerKernels(join(folder, result.file), { threads })
      kernels = { integer: proof.totalIntegerKernels, floatFedByDq: proof.dequantizedFloatMatMuls.length }
    }
  }
  await modelFolder(fp32Dir, folder, result)
  await writeBundle(folder, bundle)
  return { variant, bundle, quantizeMs, ...(result ? { result } : {}), ...(kernels ? { kernels } : {}) }
}

/** Held-out fidelity the quantizer recorded (static variants asked for heldOut): how "best calibration" is chosen without looking at the eval texts. */
const recordedFidelity = (b: Built): number => ((b.result?.record.details.fidelity as { mean?: number } | undefined)?.mean ?? 0)

/** ", gptq: Hessians x s, rounding y s" for GPTQ variants. */
const gptqTimes = (b: Built): string => {
  const r = b.result?.record.details.weightRounding as { method?: string; hessianSeconds?: number; roundingSeconds?: number; tokens?: number } | undefined
  return r?.method === "gptq" ? `, gptq: Hessians ${r.hessianSeconds!.toFixed(1)} s (${r.tokens} tokens), rounding ${r.roundingSeconds!.toFixed(1)} s` : ""
}

/**
 * "l0 1.5e-3, l1 …": the sensitivity probes' losses (each group int8 alone) summed per encoder layer.
 * Shows whether int8 noise costs the same everywhere or is amplified by the layers after it.
 */
const lossByLayer = (b: Built): string => {
  const groups = (b.result?.record.details.sensitivity as { groups?: { layer?: number; loss: number }[] } | undefined)?.groups ?? []
  const sums = new Map<number, number>()
  for (const g of groups) if (g.layer !== undefined) sums.set(g.layer, (sums.get(g.layer) ?? 0) + g.loss)
  return [...sums].sort(([a], [b]) => a - b).map(([layer, loss]) => `l${layer} ${loss.toExponential(1)}`).join(", ") || "(not probed)"
}

printMachine()
rmSync(work, { recursive: true, force: true })
mkdirSync(work, { recursive: true })
const rows: Record<string, unknown>[] = []
const goalsMissed: string[] = []
try {
  // ---------------------------------------------------------------- embedding model
  const stsDev = await loadStsBenchmark(join(data, "sts", "stsbenchmark", "sts-dev.csv"))
  const stsTest = await loadStsBenchmark(join(data, "sts", "stsbenchmark", "sts-test.csv"))
  const calibrationTexts = [...new Set(stsDev.flatMap((p) => [p.sentence1, p.sentence2]))].slice(0, calibrationCount)
  const calibrationSet = new Set(calibrationTexts)
  const evalTexts = [...new Set(stsTest.flatMap((p) => [p.sentence1, p.sentence2]))].filter((t) => !calibrationSet.has(t)).slice(0, evalCount)

  const fp32Dir = await fp32Model(
    "bge-small-outliers",
    { arch: "bert", size: "bge-small", task: "embedding", outliers: true, tokenizerDir: join(data, "tokenizers", "bge-base-en-v1.5"), seed: 1 },
    "embedding",
  )
  const embedWork = join(work, "embedding")
  const calibrationDir = join(embedWork, "calibration")
  const [, calibrateMs] = await timed(async () => {
    const tokenizer = await loadTokenizer(fp32Dir, { maxLength: seqlen })
    writeCalibrationSet(tokenizer.encode(calibrationTexts, { padding: "max_length", maxLength: seqlen }), calibrationDir, { seqlen, padId: tokenizer.padTokenId })
  })
  console.log(`calibration set: ${calibrationTexts.length} STS-B dev sentences at seqlen ${seqlen} in ${seconds(calibrateMs)}; eval: ${evalTexts.length} STS-B test sentences`)

  // Static variants hold 32 samples out so the quantizer records a fidelity to pick the best method by.
  const heldOut = 32
  const fixed: Variant[] = [
    { name: "fp16", options: { scheme: "fp16" }, goal: { mean: 0.9999 } },
    { name: "dynamic int8 (no smoothing)", options: { scheme: "dynamic-int8", smooth: false } },
    { name: "dynamic int8 + smooth (LayerNorm estimate, no data)", options: { scheme: "dynamic-int8", smooth: { alpha: 0.5, from: "layernorm" } } },
    { name: "dynamic int8 + smooth without shift (SmoothQuant scaling only)", options: { scheme: "dynamic-int8", calibration: calibrationDir, smooth: { shift: false } } },
    { name: "dynamic int8 + smooth (calibrated)", options: { scheme: "dynamic-int8", calibration: calibrationDir }, goal: { mean: 0.995, speedup: 1.8 } },
    { name: "dynamic int8 + smooth + gptq", options: { scheme: "dynamic-int8", calibration: calibrationDir, weightRounding: "gptq" }, goal: { mean: 0.995, speedup: 1.8 } },
    { name: "static int8 percentile (no smoothing)", options: { scheme: "static-int8", calibration: calibrationDir, method: "percentile", smooth: false, heldOut } },
  ]
  const statics: Variant[] = methods.map((method) => ({ name: `static int8 ${method} + smooth`, options: { scheme: "static-int8", calibration: calibrationDir, method, heldOut } }))

  console.log("quantizing …")
  const built: Built[] = [await build(fp32Dir, embedWork, { name: "fp32" })]
  for (const v of [...fixed, ...statics].filter(selected)) {
    const b = await build(fp32Dir, embedWork, v)
    log(`${v.name}: ${seconds(b.quantizeMs)}${b.kernels ? `, ${b.kernels.integer} integer kernels` : ""}${gptqTimes(b)}`)
    built.push(b)
  }
  const builtStatics = built.filter((b) => b.variant.name.endsWith("+ smooth") && b.variant.name.startsWith("static"))
  let bestMethod = values.method as Method
  if (builtStatics.length > 0) {
    const bestStatic = builtStatics.reduce((a, b) => (recordedFidelity(b) > recordedFidelity(a) ? b : a))
    bestMethod = (bestStatic.variant.options as { method: Method }).method
    log(`best calibration on held-out samples: ${bestMethod} (${recordedFidelity(bestStatic).toFixed(6)})`)
  } else log(`static calibration method: ${bestMethod} (--method; the calibration comparison was not run)`)
  const autoVariants: Variant[] = [
    {
      name: `static int8 ${bestMethod} + smooth + auto mixed (MatMul groups)`,
      // Budget above the goal on held-out calibration samples, leaving room for the eval texts.
      options: { scheme: "static-int8", calibration: calibrationDir, method: bestMethod, exclude: "auto", budget: { meanCosine: 0.9993 } },
      goal: { mean: 0.999, min: 0.99, speedup: 1.5 },
    },
    {
      name: `static int8 ${bestMethod} + smooth + auto mixed (whole layers)`,
      options: { scheme: "static-int8", calibration: calibrationDir, method: bestMethod, exclude: "auto", budget: { meanCosine: 0.9993 }, sensitivity: { unit: "layer", prune: 0 } },
    },
    {
      name: "dynamic int8 + smooth + auto mixed (MatMul groups)",
      // Held-out samples run batched like the runtime, so the budget sees the per-batch ranges.
      options: { scheme: "dynamic-int8", calibration: calibrationDir, exclude: "auto", budget: { meanCosine: 0.995 } },
      goal: { mean: 0.995, speedup: 1.8 },
    },
    {
      name: "dynamic int8 + smooth + gptq + auto mixed (MatMul groups)",
      options: { scheme: "dynamic-int8", calibration: calibrationDir, weightRounding: "gptq", exclude: "auto", budget: { meanCosine: 0.995 } },
      goal: { mean: 0.995, speedup: 1.8 },
    },
    {
      name: `static int8 ${bestMethod} + smooth + gptq + auto mixed (MatMul groups)`,
      options: { scheme: "static-int8", calibration: calibrationDir, method: bestMethod, weightRounding: "gptq", exclude: "auto", budget: { meanCosine: 0.9993 } },
      goal: { mean: 0.999, min: 0.99, speedup: 1.5 },
    },
  ]
  for (const auto of autoVariants.filter(selected)) {
    const autoBuilt = await build(fp32Dir, embedWork, auto)
    const s = autoBuilt.result?.record.details.sensitivity as { keptFloat: { group: string }[]; floatMacsShare: number }
    log(`${auto.name}: ${seconds(autoBuilt.quantizeMs)}${gptqTimes(autoBuilt)}, kept float (${(s.floatMacsShare * 100).toFixed(1)}% of MACs): ${JSON.stringify(s.keptFloat.map((k) => k.group))}`)
    log(`  loss by layer when only that layer's groups are int8: ${lossByLayer(autoBuilt)}`)
    built.push(autoBuilt)
  }

  console.log("embedding eval texts …")
  const embedders = new Map<string, Embedder>()
  for (const b of built) embedders.set(b.variant.name, await Embedder.load(b.bundle, { threads, instances: 1 }))
  const reference = (await embedders.get("fp32")!.embed(evalTexts, { batchSize: 32 })).dense
  const fidelity = new Map<string, ReturnType<typeof embeddingFidelity>>()
  for (const b of built.slice(1)) fidelity.set(b.variant.name, embeddingFidelity(reference, (await embedders.get(b.variant.name)!.embed(evalTexts, { batchSize: 32 })).dense))

  console.log(`throughput: ${rounds} rounds, each runs fp32 and every variant over the ${evalTexts.length} texts (batch 32, pre-tokenized), in turn …`)
  const tokens = embedders.get("fp32")!.bundle.tokenizer.encode(evalTexts, { padding: "longest" })
  const elapsed = new Map<string, number>(built.map((b) => [b.variant.name, 0]))
  const perRound = new Map<string, number[]>(built.map((b) => [b.variant.name, []]))
  for (const e of embedders.values()) await e.bundle.runBatches(tokens, 32, [e.config.io.outputs.dense!], () => {}) // warm-up
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round so no variant always follows the same neighbour.
    const order = built.map((_, i) => built[(i + r) % built.length]!)
    for (const b of order) {
      const e = embedders.get(b.variant.name)!
      const [, ms] = await timed(() => e.bundle.runBatches(tokens, 32, [e.config.io.outputs.dense!], () => {}))
      elapsed.set(b.variant.name, elapsed.get(b.variant.name)! + ms)
      perRound.get(b.variant.name)!.push(ms)
    }
  }
  for (const e of embedders.values()) await e.close()
  const qps = (name: string) => (rounds * evalTexts.length) / (elapsed.get(name)! / 1000)
  // Speed-up: the median over rounds of fp32's time / the variant's time in the same round, so a
  // burst of load from other processes skews one round, not the ratio.
  const speedupOf = (name: string) => {
    const ratios = perRound.get("fp32")!.map((t, r) => t / perRound.get(name)![r]!).sort((a, b) => a - b)
    return ratios[ratios.length >> 1]!
  }

  for (const b of built) {
    const f = fidelity.get(b.variant.name)
    const speedup = speedupOf(b.variant.name)
    const goal = b.variant.goal
    const misses: string[] = []
    if (goal?.mean !== undefined && f!.mean < goal.mean) misses.push(`mean ${f!.mean.toFixed(5)} < ${goal.mean}`)
    if (goal?.min !== undefined && f!.min < goal.min) misses.push(`min ${f!.min.toFixed(5)} < ${goal.min}`)
    if (goal?.speedup !== undefined && speedup < goal.speedup) misses.push(`speed-up ${speedup.toFixed(2)}× < ${goal.speedup}×`)
    for (const m of misses) goalsMissed.push(`${b.variant.name}: ${m}`)
    const smooth = b.result?.record.details.smooth
    rows.push({
      model: "bge-small (bert, outliers)",
      variant: b.variant.name,
      meanCosine: f?.mean ?? 1,
      minCosine: f?.min ?? 1,
      qps: qps(b.variant.name),
      speedup,
      quantizeSeconds: b.quantizeMs / 1000,
      calibrateSeconds: b.variant.options && "calibration" in b.variant.options ? calibrateMs / 1000 : 0,
      integerKernels: b.kernels?.integer ?? null,
      floatMatMulsFedByDequantize: b.kernels?.floatFedByDq ?? null,
      heldOutFidelity: b.result?.record.details.fidelity ?? null,
      smoothedActivations: typeof smooth === "object" && smooth !== null ? (smooth as { activations: unknown[] }).activations.length : 0,
      keptFloat: (b.result?.record.details.sensitivity as { keptFloat?: { group: string }[] } | undefined)?.keptFloat?.map((k) => k.group) ?? null,
      floatMacsShare: (b.result?.record.details.sensitivity as { floatMacsShare?: number } | undefined)?.floatMacsShare ?? null,
      weightRounding: b.result?.record.details.weightRounding ?? null,
      lossByLayer: b.result?.record.details.sensitivity === undefined ? null : lossByLayer(b),
      goal: goal ?? null,
      goalMet: goal === undefined ? null : misses.length === 0,
    })
  }

  // ---------------------------------------------------------------- reranker
  if (!values["no-reranker"] && only === undefined) {
    const queries = [
      ...(await loadRerankingJsonl(join(data, "reranking", "flagembedding_examples", "examples.jsonl"))),
      ...(await loadRerankingJsonl(join(data, "reranking", "flagembedding_examples", "msmarco.jsonl"))),
    ]
    const seen = new Set<string>()
    const pairs: [string, string][] = []
    for (const q of queries)
      for (const p of [...q.positives, ...q.negatives]) {
        const key = `${q.query}\u0000${p}`
        if (!seen.has(key)) pairs.push([q.query, p])
        seen.add(key)
      }
    const rerankerDir = await fp32Model(
      "reranker-base-outliers",
      { arch: "xlm-roberta", size: "bge-reranker-base", task: "reranker", outliers: true, tokenizerDir: join(data, "tokenizers", "xlmr_multilingual-e5-small"), seed: 2 },
      "reranker",
    )
    const rerankWork = join(work, "reranker")
    const rerankCalibration = join(rerankWork, "calibration")
    const [, rerankCalibrateMs] = await timed(async () => {
      const tokenizer = await loadTokenizer(rerankerDir, { maxLength: seqlen })
      // STS-B dev sentence pairs: (query, passage)-shaped input unrelated to the eval pairs.
      const calibrationPairs = stsDev.slice(0, rerankerCalibrationCount).map((p) => [p.sentence1, p.sentence2] as const)
      writeCalibrationSet(tokenizer.encodePairs(calibrationPairs, { padding: "max_length", maxLength: seqlen }), rerankCalibration, { seqlen, padId: tokenizer.padTokenId })
    })
    const rerankVariants: Variant[] = [
      { name: "fp32" },
      { name: "dynamic int8 (no smoothing)", options: { scheme: "dynamic-int8", smooth: false } },
      { name: "dynamic int8 + smooth (calibrated)", options: { scheme: "dynamic-int8", calibration: rerankCalibration }, goal: { spearman: 0.995 } },
      { name: `static int8 ${bestMethod} + smooth`, options: { scheme: "static-int8", calibration: rerankCalibration, method: bestMethod }, goal: { spearman: 0.995 } },
      {
        name: `static int8 ${bestMethod} + smooth + auto mixed (MatMul groups, Spearman budget)`,
        // 48 of the 160 calibration pairs held out: Spearman over fewer is too coarse to steer by.
        options: {
          scheme: "static-int8",
          calibration: rerankCalibration,
          method: bestMethod,
          exclude: "auto",
          heldOut: 48,
          budget: { spearman: 0.997 },
        },
        goal: { spearman: 0.995 },
      },
    ]
    console.log(`reranker: ${pairs.length} (query, passage) pairs from ${queries.length} FlagEmbedding example queries; quantizing …`)
    const scores = new Map<string, number[]>()
    const rerankBuilt: Built[] = []
    for (const v of rerankVariants) {
      const b = await build(rerankerDir, rerankWork, v)
      if (v.options) log(`${v.name}: ${seconds(b.quantizeMs)}${b.kernels ? `, ${b.kernels.integer} integer kernels` : ""}`)
      const sensitivity = b.result?.record.details.sensitivity as { keptFloat: { group: string }[]; floatMacsShare: number } | undefined
      if (sensitivity) log(`  kept float (${(sensitivity.floatMacsShare * 100).toFixed(1)}% of MACs): ${JSON.stringify(sensitivity.keptFloat.map((k) => k.group))}`)
      const reranker = await Reranker.load(b.bundle, { threads, instances: 1 })
      const [s, ms] = await timed(() => reranker.score(pairs, { batchSize: 16 }))
      await reranker.close()
      log(`${v.name}: scored in ${seconds(ms)}`)
      scores.set(v.name, s)
      rerankBuilt.push(b)
      // Free the big folders as soon as the scores are in (the fp32 reranker is ~1.1 GB).
      if (!values.keep) rmSync(b.bundle, { recursive: true, force: true })
    }
    // Is Spearman dominated by near-ties? Compare the spread of the fp32 scores and the gaps between
    // neighbours in rank with the int8 noise (mean |Δ|).
    const reference = scores.get("fp32")!
    const mean = reference.reduce((a, b) => a + b, 0) / reference.length
    const referenceStd = Math.sqrt(reference.reduce((a, b) => a + (b - mean) ** 2, 0) / reference.length)
    const sorted = [...reference].sort((a, b) => a - b)
    const gaps = sorted.slice(1).map((v, i) => v - sorted[i]!).sort((a, b) => a - b)
    const medianGap = gaps[gaps.length >> 1]!
    log(`fp32 scores: std ${referenceStd.toFixed(4)}, range ${sorted[0]!.toFixed(3)} … ${sorted.at(-1)!.toFixed(3)}, median gap between rank neighbours ${medianGap.toExponential(2)}`)
    for (const b of rerankBuilt.slice(1)) {
      const f = rerankerFidelity(scores.get("fp32")!, scores.get(b.variant.name)!)
      const got = scores.get(b.variant.name)!
      const meanAbsDiff = got.reduce((a, v, i) => a + Math.abs(v - reference[i]!), 0) / got.length
      log(`${b.variant.name}: mean |Δ| ${meanAbsDiff.toFixed(4)} = ${(meanAbsDiff / referenceStd).toFixed(3)} × score std = ${(meanAbsDiff / medianGap).toFixed(0)} × median rank gap`)
      const goal = b.variant.goal
      const met = goal?.spearman === undefined || f.spearman >= goal.spearman
      if (!met) goalsMissed.push(`reranker ${b.variant.name}: Spearman ${f.spearman.toFixed(5)} < ${goal!.spearman}`)
      rows.push({
        model: "bge-reranker-base (xlm-r, outliers)",
        variant: b.variant.name,
        spearman: f.spearman,
        pearson: f.pearson,
        maxAbsDiff: f.maxAbsDiff,
        meanAbsDiff,
        referenceStd,
        medianRankGap: medianGap,
        pairs: f.count,
        keptFloat: (b.result?.record.details.sensitivity as { keptFloat?: { group: string }[] } | undefined)?.keptFloat?.map((k) => k.group) ?? null,
        quantizeSeconds: b.quantizeMs / 1000,
        calibrateSeconds: b.variant.options && "calibration" in b.variant.options ? rerankCalibrateMs / 1000 : 0,
        integerKernels: b.kernels?.integer ?? null,
        goal: goal ?? null,
        goalMet: goal === undefined ? null : met,
      })
    }
  }

  // ---------------------------------------------------------------- table
  const num = (x: unknown, digits: number) => (typeof x === "number" ? x.toFixed(digits) : "")
  const table = [
    ["model", "variant", "mean cos", "min cos", "Spearman", "qps", "× fp32", "float MACs", "calib+quant", "int kernels", "goal"],
    ...rows.map((r) => [
      String(r.model),
      String(r.variant),
      num(r.meanCosine, 6),
      num(r.minCosine, 5),
      num(r.spearman, 5),
      num(r.qps, 1),
      typeof r.speedup === "number" ? `${r.speedup.toFixed(2)}×` : "",
      typeof r.floatMacsShare === "number" ? `${(r.floatMacsShare * 100).toFixed(1)}%` : "",
      r.quantizeSeconds === 0 ? "" : seconds(((r.quantizeSeconds as number) + (r.calibrateSeconds as number)) * 1000),
      r.integerKernels === null ? "" : `${r.integerKernels}${r.floatMatMulsFedByDequantize ? ` (${r.floatMatMulsFedByDequantize} float!)` : ""}`,
      r.goalMet === null ? "" : r.goalMet ? "met" : "NOT met",
    ]),
  ]
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)))
  console.log()
  for (const row of table) console.log(row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "))
  console.log(goalsMissed.length === 0 ? "\nall goals met" : `\ngoals not met:\n${goalsMissed.map((g) => `  ${g}`).join("\n")}`)
  const result = { threads, seqlen, evalTexts: evalTexts.length, calibrationTexts: calibrationTexts.length, rounds, rows, goalsMissed }
  // A partial run (--only) is not the benchmark's result: it goes beside the cache, not into bench/results.
  const path = only === undefined ? await writeResult("quantize", result) : join(dir, "quantize-only.json")
  if (only !== undefined) await Bun.write(path, JSON.stringify({ only, ...result }, null, 2) + "\n")
  console.log(`wrote ${path}`)
} finally {
  if (!values.keep) rmSync(work, { recursive: true, force: true })
}
