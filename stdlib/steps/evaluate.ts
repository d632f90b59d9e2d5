// The evaluation steps: a deployment's quality on an STS dataset (evaluate) or a reranking
// dataset (evaluateRerank), written to eval.json. Kind: "deployment" → "eval-report".
import * as Effect from "effect/Effect"
import { z } from "zod"
import { defineStep } from "../../src/engine/index.ts"
import { evaluateReranking, evaluateSts, loadRerankDataset, loadStsDataset, type Deployment, type Metrics } from "../../src/evaluate/index.ts"
import { attempt } from "./attempt.ts"
import { withDeployments } from "./with-deployments.ts"
import { writeJson } from "./write-report.ts"

export const evalParams = z.object({
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
