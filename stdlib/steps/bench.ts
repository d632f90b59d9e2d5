// The bench step: queries per second and latency of a deployment on the target that runs it, over
// batch sizes and instance counts — cpu: kiln's benchmark loop on ONNX Runtime; vacc: the vendor's
// vamp — written as bench.json (one schema for every target) and in vamp's text layout.
// Kind: "deployment" → "bench-report".
import { hostname } from "node:os"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { defineStep } from "../../src/engine/index.ts"
import { distinctTexts, loadStsDataset } from "../../src/evaluate/index.ts"
import { describeIssues } from "../../src/schema/index.ts"
import { BenchReport, matchTarget, TargetParam, targetOfDeployment } from "../../src/targets/index.ts"
import { attempt, attemptEffect, attemptSync, type StepErrorFields } from "./attempt.ts"
import { deploymentTarget, onTarget, runsOnDeployment } from "./on-target.ts"
import { writeJson, writeText } from "./write-report.ts"

/** How the bench step fails: the target's message (a deployment that does not load, a tool that failed) or a report not in the shared schema. */
export class BenchError extends Data.TaggedError("BenchError")<StepErrorFields> {}

export const bench = defineStep({
  name: "bench",
  // 2: bench.json is the targets' shared report (target, nullable percentiles, vamp's counters).
  version: 2,
  params: z.object({
    /** Absent or "auto": the deployment's own target; a name must match it. */
    target: TargetParam.optional(),
    batch: z.array(z.number().int().positive()).min(1).default([1, 8]),
    instances: z.array(z.number().int().positive()).min(1).default([1]),
    threads: z.number().int().positive().default(2),
    warmup: z.number().int().nonnegative().default(2),
    seconds: z.number().positive().default(3),
    /** Timed batches per configuration (cpu: instead of `seconds`; vacc: vamp's --iterations, default one pass over the texts). */
    iterations: z.number().int().positive().optional(),
    texts: z.number().int().positive().default(256),
  }),
  inputs: { deployment: "deployment", dataset: "sts-dataset" },
  main: "deployment",
  output: "bench-report",
  // Speed belongs to a machine and its tools: never serve another host's numbers from a shared
  // cache. The tools are those of the deployment's target, whatever "auto" would pick here.
  fingerprint: (p, inputs) => {
    const target = deploymentTarget(p.target, inputs.deployment)
    return { target: target.name, ...target.fingerprint(), host: hostname() }
  },
  // A measurement: on the CPU nothing else may share it; on a card the die is held.
  resources: (p, inputs) => (deploymentTarget(p.target, inputs.deployment).resources === "cpu" ? "exclusive" : "device"),
  runsOn: (_p, inputs) => runsOnDeployment(inputs.deployment),
  // Its numbers differ on every run: the lock file records that it ran, not its output.
  reproducible: "measurement",
  run: (ctx) =>
    Effect.gen(function* () {
      const p = ctx.params
      const dir = ctx.inputs.deployment.path
      const chosen = yield* attemptSync(BenchError, () => matchTarget(p.target ?? "auto", targetOfDeployment(dir), dir))
      yield* ctx.log(chosen.why)
      const pairs = yield* attempt(BenchError, () => loadStsDataset(ctx.inputs.dataset.path))
      const texts = distinctTexts(pairs).slice(0, p.texts)
      const pairInputs = pairs.slice(0, p.texts).map((x) => [x.sentence1, x.sentence2] as const)
      const { report, text } = yield* onTarget(
        chosen.target.bench({ deploymentDir: dir, tmpDir: ctx.tmpDir, texts, pairs: pairInputs, params: p, log: ctx.log }),
      ).pipe(attemptEffect(BenchError))
      for (const line of text.trimEnd().split("\n")) yield* ctx.log(line)
      const checked = BenchReport.safeParse(report)
      if (!checked.success) {
        return yield* new BenchError({
          message: `the ${chosen.target.name} target's bench report: ${describeIssues(checked.error, report, { schema: BenchReport })}`,
          hint: "a target's bench must return the shared report (src/targets/bench-report.ts)",
        })
      }
      yield* writeJson(BenchError, ctx.outDir, "bench.json", checked.data)
      yield* writeText(BenchError, ctx.outDir, "vamp.txt", text)
    }),
})
