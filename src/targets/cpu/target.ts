// Target "cpu": ONNX Runtime on this machine — kiln's original backend (src/runtime) behind the
// Target seam, unchanged: compile is ORT's offline optimisation with fusion checks, deploy writes a
// bundle with runtime.json, sessions are ORT session pools, bench is kiln's benchmark loop.
import { existsSync } from "node:fs"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { MANIFEST_FILE } from "../../artifacts/index.ts"
import {
  benchmark,
  bundleBenchTarget,
  compileForCpu,
  cpuFingerprint,
  formatVampReport,
  openBundleSession,
  RUNTIME_FILE,
  RuntimeError,
  writeBundle,
} from "../../runtime/index.ts"
import type { BenchReport } from "../bench-report.ts"
import { TargetError } from "../errors.ts"
import type { Target } from "../target.ts"

const failed = (cause: unknown, hint?: string) =>
  new TargetError({
    target: "cpu",
    reason: cause instanceof RuntimeError && cause.reason.startsWith("invalid") ? "bad-input" : "tool-failed",
    message: cause instanceof Error ? cause.message : String(cause),
    ...(hint !== undefined ? { hint } : {}),
    cause,
  })

const compileParams = {
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
}
const CompileParams = z.object(compileParams)

export const cpuTarget = {
  name: "cpu",
  resources: "cpu",
  compileParams,
  availability: () => ({ available: true, summary: `ONNX Runtime ${cpuFingerprint().ort} on ${cpuFingerprint().cpu}` }),
  // Graphs optimised at level "all" are tied to the ORT version and the CPU's instruction set.
  fingerprint: () => {
    const fp = cpuFingerprint()
    return { ort: fp.ort, cpu: fp.cpu, features: fp.features.join(" ") }
  },
  ownsModel: (dir) => existsSync(join(dir, MANIFEST_FILE)),
  ownsDeployment: (dir) => existsSync(join(dir, RUNTIME_FILE)),
  compile: (request) =>
    Effect.gen(function* () {
      const p = CompileParams.parse(request.params)
      const result = yield* Effect.tryPromise({
        try: () =>
          compileForCpu(request.modelDir, request.outDir, {
            level: p.level,
            allowMissing: p.allowMissing,
            disabledOptimizers: p.disabledOptimizers,
            ...(p.outputs !== undefined ? { outputs: p.outputs } : {}),
          }),
        catch: (cause) => failed(cause, "a fusion ONNX Runtime should have made did not happen; check the exporter's graph, or list it in allowMissing"),
      })
      yield* request.log(`fused ops: ${Object.entries(result.fusedOps).map(([op, n]) => `${op} ×${n}`).join(", ") || "none"}`)
      const pruning = result.pruning
      yield* request.log(`outputs: ${pruning.outputs.join(", ")}${pruning.dropped.length > 0 ? ` (dropped ${pruning.dropped.join(", ")})` : ""}`)
      yield* request.log(pruning.firstToken ? "first-token pruning: the last layer runs on the first token only" : `first-token pruning not applied: ${pruning.reason}`)
    }),
  deploy: ({ modelDir, outDir, params: p }) =>
    Effect.tryPromise({
      try: async () => {
        const bundle = await writeBundle(modelDir, outDir, {
          ...(p.instruction !== undefined ? { instruction: p.instruction } : {}),
          ...(p.maxLength !== undefined ? { maxLength: p.maxLength } : {}),
          ...(p.threads !== undefined ? { sessionOptions: { intraOpNumThreads: p.threads } } : {}),
        })
        return { task: bundle.config.task, files: bundle.files.length }
      },
      catch: (cause) => failed(cause),
    }),
  openSession: (dir, options) =>
    Effect.acquireRelease(
      Effect.tryPromise({ try: () => openBundleSession(dir, options), catch: (cause) => failed(cause) }),
      // A close that fails cannot undo what the session computed: a warning, not a defect.
      (session) => Effect.tryPromise(() => session.close()).pipe(Effect.ignore({ log: "Warn", message: `closing the ONNX Runtime session of ${dir} failed` })),
    ),
  bench: (request) =>
    Effect.tryPromise({
      try: async (signal): Promise<{ report: BenchReport; text: string }> => {
        const p = request.params
        const dir = request.deploymentDir
        const threadsPer = (n: number) => Math.max(1, Math.floor(p.threads / n))
        const open = (n: number) => openBundleSession(dir, { instances: n, threads: threadsPer(n) })
        const probe = await open(1)
        const task = probe.config.task
        await probe.close()
        const options = { batchSizes: p.batch, instances: p.instances, warmup: p.warmup, seconds: p.seconds, ...(p.iterations !== undefined ? { iterations: p.iterations } : {}), signal }
        const result =
          task === "reranker"
            ? await benchmark(bundleBenchTarget<readonly [string, string]>(open), request.pairs, options)
            : await benchmark(bundleBenchTarget<string>(open), request.texts, options)
        const report: BenchReport = {
          target: "cpu",
          device: result.device,
          inputs: result.inputs,
          configs: result.configs.map((c) => ({ ...c, aiUtilizePercent: null, dieMemoryMB: null })),
          details: { host: cpuFingerprint(), threads: p.threads, warmup: result.warmup },
        }
        return { report, text: formatVampReport(result) }
      },
      catch: (cause) => failed(cause),
    }),
  doctor: () => {
    const fp = cpuFingerprint()
    return [`onnxruntime-node ${fp.ort}`, `cpu: ${fp.cpu}`, `features: ${fp.features.join(" ") || "none"}`]
  },
} satisfies Target
