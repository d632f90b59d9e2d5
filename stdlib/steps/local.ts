// The local ONNX Runtime chain as steps: compile (offline graph optimisation, fusion checks),
// deploy (self-contained bundle), evaluate (STS / reranking), fidelity (against a reference
// deployment, with an accuracy gate) and bench (qps and latency in vamp's layout).
// Kinds: "onnx-model" → "onnx-model" → "deployment" → "eval-report" / "bench-report".
import { hostname } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { defineStep, StepError } from "../../src/engine/index.ts"
import {
  checkMaxDrop,
  checkMinimums,
  closeDeployment,
  distinctTexts,
  evaluateReranking,
  evaluateSts,
  fidelity as measureFidelity,
  loadRerankDataset,
  loadStsDataset,
  openDeployment,
  type Deployment,
  type Metrics,
} from "../../src/evaluate/index.ts"
import { benchmark, bundleBenchTarget, compileForCpu, cpuFingerprint, formatVampReport, openBundleSession, writeBundle } from "../../src/runtime/index.ts"
import { attempt } from "./attempt.ts"

const cpuPrint = (): Record<string, string> => {
  const fp = cpuFingerprint()
  return { ort: fp.ort, cpu: fp.cpu, features: fp.features.join(" ") }
}

const writeJson = (dir: string, file: string, data: unknown) => Effect.promise(() => Bun.write(join(dir, file), JSON.stringify(data, null, 2) + "\n"))

/** Opens deployments for the duration of `use`, closing them even when it fails. */
const withDeployments = <A>(dirs: readonly string[], threads: number, use: (ds: Deployment[]) => Promise<A>) =>
  attempt(async () => {
    const opened: Deployment[] = []
    try {
      for (const dir of dirs) opened.push(await openDeployment(dir, { threads }))
      return await use(opened)
    } finally {
      for (const d of opened) await closeDeployment(d)
    }
  })

export const compile = defineStep({
  name: "compile",
  // 2: the last layer runs on the first token only whenever the kept outputs allow it.
  version: 2,
  params: z.object({
    /** "cpu": ONNX Runtime on this machine; "auto" picks it too until an accelerator toolchain is installed. */
    target: z.enum(["cpu", "auto"]).default("auto"),
    level: z.enum(["basic", "extended", "all"]).default("all"),
    /** Fusions whose absence is accepted, e.g. ["attention"] for a graph exported with plain ONNX attention. */
    allowMissing: z.array(z.enum(["attention", "skip-layer-norm", "int8-matmul"])).default([]),
    disabledOptimizers: z.array(z.string()).default([]),
    /**
     * Keep only these outputs, e.g. ["sentence_embedding"] (absent: every output). When the kept
     * outputs read only the first token (CLS pooling without last_hidden_state, a reranker's logits),
     * the last layer runs on that token only.
     */
    outputs: z.array(z.string().min(1)).min(1).optional(),
  }),
  inputs: { model: "onnx-model" },
  output: "onnx-model",
  // Graphs optimised at level "all" are tied to the ORT version and the CPU's instruction set.
  fingerprint: cpuPrint,
  run: (ctx) =>
    Effect.gen(function* () {
      const p = ctx.params
      const result = yield* attempt(
        () =>
          compileForCpu(ctx.inputs.model.path, ctx.outDir, {
            level: p.level,
            allowMissing: p.allowMissing,
            disabledOptimizers: p.disabledOptimizers,
            ...(p.outputs !== undefined ? { outputs: p.outputs } : {}),
          }),
        "a fusion ONNX Runtime should have made did not happen; check the exporter's graph, or list it in allowMissing",
      )
      yield* ctx.log(`fused ops: ${Object.entries(result.fusedOps).map(([op, n]) => `${op} ×${n}`).join(", ") || "none"}`)
      const pruning = result.pruning
      yield* ctx.log(`outputs: ${pruning.outputs.join(", ")}${pruning.dropped.length > 0 ? ` (dropped ${pruning.dropped.join(", ")})` : ""}`)
      yield* ctx.log(pruning.firstToken ? "first-token pruning: the last layer runs on the first token only" : `first-token pruning not applied: ${pruning.reason}`)
    }),
})

export const deploy = defineStep({
  name: "deploy",
  version: 1,
  params: z.object({
    instruction: z.string().optional(),
    maxLength: z.number().int().positive().optional(),
    threads: z.number().int().positive().optional(),
  }),
  inputs: { model: "onnx-model" },
  output: "deployment",
  resources: "io",
  run: (ctx) =>
    Effect.gen(function* () {
      const p = ctx.params
      const bundle = yield* attempt(() =>
        writeBundle(ctx.inputs.model.path, ctx.outDir, {
          ...(p.instruction !== undefined ? { instruction: p.instruction } : {}),
          ...(p.maxLength !== undefined ? { maxLength: p.maxLength } : {}),
          ...(p.threads !== undefined ? { sessionOptions: { intraOpNumThreads: p.threads } } : {}),
        }),
      )
      yield* ctx.log(`bundle: ${bundle.files.length} files, task ${bundle.config.task}`)
    }),
})

const evalParams = z.object({
  limit: z.number().int().positive().optional(),
  batchSize: z.number().int().positive().default(32),
  threads: z.number().int().positive().default(2),
})

/** An evaluation of one deployment on one kind of dataset, written to eval.json. */
const evaluationStep = <const Name extends string, const Dataset extends string, T>(
  name: Name,
  dataset: Dataset,
  kind: string,
  load: (path: string, limit?: number) => Promise<T>,
  measure: (d: Deployment, data: T, batchSize: number) => Promise<Metrics>,
) =>
  defineStep({
    name,
    version: 1,
    params: evalParams,
    inputs: { deployment: "deployment", dataset },
    main: "deployment",
    output: "eval-report",
    run: (ctx) =>
      Effect.gen(function* () {
        const p = ctx.params
        const data = yield* attempt(() => load(ctx.inputs.dataset.path, p.limit))
        const metrics = yield* withDeployments([ctx.inputs.deployment.path], p.threads, ([d]) => measure(d!, data, p.batchSize))
        yield* ctx.log(`${kind}: ${JSON.stringify(metrics)}`)
        yield* writeJson(ctx.outDir, "eval.json", { kind, metrics })
      }),
  })

export const evaluate = evaluationStep("evaluate", "sts-dataset", "sts", loadStsDataset, evaluateSts)
export const evaluateRerank = evaluationStep("evaluateRerank", "rerank-dataset", "reranking", loadRerankDataset, evaluateReranking)

export const fidelity = defineStep({
  name: "fidelity",
  version: 1,
  params: evalParams.extend({
    /** Budget per STS metric for the drop from the reference, e.g. { cosine_spearman: 0.005 }. */
    maxDrop: z.record(z.string(), z.number().nonnegative()).default({}),
    /** Floors for fidelity figures, e.g. { cosine_mean: 0.999, cosine_min: 0.99 } or { score_spearman: 0.995 }. */
    min: z.record(z.string(), z.number()).default({}),
  }),
  inputs: { deployment: "deployment", reference: "deployment", dataset: "sts-dataset" },
  main: "deployment",
  output: "eval-report",
  run: (ctx) =>
    Effect.gen(function* () {
      const p = ctx.params
      const pairs = yield* attempt(() => loadStsDataset(ctx.inputs.dataset.path, p.limit))
      const report = yield* withDeployments([ctx.inputs.deployment.path, ctx.inputs.reference.path], p.threads, async ([candidate, reference]) => ({
        fidelity: await measureFidelity(candidate!, reference!, pairs, p.batchSize),
        candidate: await evaluateSts(candidate!, pairs, p.batchSize),
        reference: await evaluateSts(reference!, pairs, p.batchSize),
      }))
      const violations = [...checkMinimums(report.fidelity, p.min), ...checkMaxDrop(report.candidate, report.reference, p.maxDrop)]
      yield* ctx.log(`fidelity: ${JSON.stringify(report.fidelity)}`)
      yield* ctx.log(`STS candidate ${report.candidate.main_score?.toFixed(5)} vs reference ${report.reference.main_score?.toFixed(5)}`)
      if (violations.length > 0) {
        return yield* new StepError({
          message: `accuracy gate failed: ${violations.map((v) => v.message).join("; ")}`,
          hint: "the candidate lost more accuracy than the budget allows; keep more layers in float or relax the budget",
        })
      }
      yield* writeJson(ctx.outDir, "eval.json", { kind: "fidelity", ...report, gate: { maxDrop: p.maxDrop, min: p.min, passed: true } })
    }),
})

export const bench = defineStep({
  name: "bench",
  version: 1,
  params: z.object({
    batch: z.array(z.number().int().positive()).min(1).default([1, 8]),
    instances: z.array(z.number().int().positive()).min(1).default([1]),
    threads: z.number().int().positive().default(2),
    warmup: z.number().int().nonnegative().default(2),
    seconds: z.number().positive().default(3),
    texts: z.number().int().positive().default(256),
  }),
  inputs: { deployment: "deployment", dataset: "sts-dataset" },
  main: "deployment",
  output: "bench-report",
  // Speed belongs to a machine: never serve another host's numbers from a shared cache.
  fingerprint: () => ({ ...cpuPrint(), host: hostname() }),
  run: (ctx) =>
    Effect.gen(function* () {
      const p = ctx.params
      const pairs = yield* attempt(() => loadStsDataset(ctx.inputs.dataset.path))
      const texts = distinctTexts(pairs).slice(0, p.texts)
      const pairInputs = pairs.slice(0, p.texts).map((x) => [x.sentence1, x.sentence2] as const)
      const dir = ctx.inputs.deployment.path
      const threadsPer = (n: number) => Math.max(1, Math.floor(p.threads / n))
      const open = (n: number) => openBundleSession(dir, { instances: n, threads: threadsPer(n) })
      const result = yield* attempt(async () => {
        const probe = await open(1)
        const task = probe.config.task
        await probe.close()
        const options = { batchSizes: p.batch, instances: p.instances, warmup: p.warmup, seconds: p.seconds }
        return task === "reranker"
          ? benchmark(bundleBenchTarget<readonly [string, string]>(open), pairInputs, options)
          : benchmark(bundleBenchTarget<string>(open), texts, options)
      })
      const vamp = formatVampReport(result)
      for (const line of vamp.split("\n")) yield* ctx.log(line)
      yield* writeJson(ctx.outDir, "bench.json", { ...result, host: cpuFingerprint(), threads: p.threads })
      yield* Effect.promise(() => Bun.write(join(ctx.outDir, "vamp.txt"), vamp + "\n"))
    }),
})
