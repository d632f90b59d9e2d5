// The evaluation steps: a deployment's quality on an STS dataset (evaluate) or a reranking
// dataset (evaluateRerank), written to eval.json. Kind: "deployment" → "eval-report".
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { defineStep } from "../../src/engine/index.ts"
import { evaluateReranking, evaluateSts, loadRerankDataset, loadStsDataset, type Deployment, type Metrics } from "../../src/evaluate/index.ts"
import { TargetParam } from "../../src/targets/index.ts"
import { attempt, type StepErrorFields } from "./attempt.ts"
import { deploymentsFingerprint, deploymentsResources, deploymentTarget, runsOnDeployment } from "./on-target.ts"
import { withDeployments } from "./with-deployments.ts"
import { writeJson } from "./write-report.ts"

/** How the evaluation steps fail: the dataset's or runtime's message, naming the file or row, or the target's. */
export class EvaluateError extends Data.TaggedError("EvaluateError")<StepErrorFields> {}

export const evalParams = z.object({
  /** Absent or "auto": the deployment's own target; a name must match it. */
  target: TargetParam.optional(),
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
  measure: (d: Deployment, data: T, batchSize: number, signal: AbortSignal) => Promise<Metrics>,
) =>
  defineStep({
    name,
    version: 1,
    params: evalParams,
    inputs: { deployment: "deployment", dataset },
    main: "deployment",
    output: "eval-report",
    // On an accelerator the runtime's versions shape the numbers, and the step holds a die — as
    // the deployment's own target decides, whatever "auto" would pick on this machine.
    fingerprint: (p, inputs) => deploymentsFingerprint([deploymentTarget(p.target, inputs.deployment)]),
    resources: (p, inputs) => deploymentsResources([deploymentTarget(p.target, inputs.deployment)]),
    runsOn: (_p, inputs) => runsOnDeployment(inputs.deployment),
    run: (ctx) =>
      Effect.gen(function* () {
        const p = ctx.params
        const data = yield* attempt(EvaluateError, () => load(ctx.inputs.dataset.path, p.limit))
        const metrics = yield* withDeployments(EvaluateError, [ctx.inputs.deployment.path], p.threads, ([d], signal) => measure(d!, data, p.batchSize, signal), p.target)
        yield* ctx.log(`${kind}: ${JSON.stringify(metrics)}`)
        yield* writeJson(EvaluateError, ctx.outDir, "eval.json", { kind, metrics })
      }),
  })

export const evaluate = evaluationStep("evaluate", "sts-dataset", "sts", loadStsDataset, evaluateSts)
export const evaluateRerank = evaluationStep("evaluateRerank", "rerank-dataset", "reranking", loadRerankDataset, evaluateReranking)
