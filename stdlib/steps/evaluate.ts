// The evaluation steps: a deployment's quality on an STS dataset, read from its embeddings
// artifact (evaluate), or on a reranking dataset, running the deployment (evaluateRerank); written
// to eval.json. Kinds: "embeddings" (+ "sts-dataset") → "eval-report"; "deployment" → "eval-report".
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { defineStep } from "../../src/engine/index.ts"
import { evaluateReranking, loadRerankDataset, loadStsDataset, readEmbeddings, stsOfEmbeddings } from "../../src/evaluate/index.ts"
import { TargetParam } from "../../src/targets/index.ts"
import { attempt, attemptSync, type StepErrorFields } from "./attempt.ts"
import { overDeployment } from "./on-target.ts"
import { withDeployments } from "./with-deployments.ts"
import { writeJson } from "./write-report.ts"

/** How the evaluation steps fail: the dataset's, artifact's or runtime's message, naming the file or row, or the target's. */
export class EvaluateError extends Data.TaggedError("EvaluateError")<StepErrorFields> {}

/** The params of a step that runs a deployment. */
export const evalParams = z.object({
  /** Absent or "auto": the deployment's own target; a name must match it. */
  target: TargetParam.optional(),
  limit: z.number().int().positive().optional(),
  batchSize: z.number().int().positive().default(32),
  threads: z.number().int().positive().default(2),
})

/** The params of a step that reads embeddings: which of the dataset's pairs it scores. */
export const readParams = z.object({ limit: z.number().int().positive().optional() })

/** STS metrics of the deployment whose embeddings of the dataset are `embeddings` (the embed step's output on the same dataset). */
export const evaluate = defineStep({
  name: "evaluate",
  version: 2,
  params: readParams,
  inputs: { embeddings: "embeddings", dataset: "sts-dataset" },
  main: "embeddings",
  output: "eval-report",
  run: (ctx) =>
    Effect.gen(function* () {
      const pairs = yield* attempt(EvaluateError, () => loadStsDataset(ctx.inputs.dataset.path, ctx.params.limit))
      const metrics = yield* attemptSync(EvaluateError, () => stsOfEmbeddings(readEmbeddings(ctx.inputs.embeddings.path), pairs))
      yield* ctx.log(`sts: ${JSON.stringify(metrics)}`)
      yield* writeJson(EvaluateError, ctx.outDir, "eval.json", { kind: "sts", metrics })
    }),
})

/** MAP and MRR@10 of a deployment on a reranking dataset (queries embedded with the instruction, passages without). */
export const evaluateRerank = defineStep({
  name: "evaluateRerank",
  version: 1,
  params: evalParams,
  inputs: { deployment: "deployment", dataset: "rerank-dataset" },
  main: "deployment",
  output: "eval-report",
  ...overDeployment,
  run: (ctx) =>
    Effect.gen(function* () {
      const p = ctx.params
      const queries = yield* attempt(EvaluateError, () => loadRerankDataset(ctx.inputs.dataset.path, p.limit))
      const metrics = yield* withDeployments(EvaluateError, [ctx.inputs.deployment.path], p.threads, ([d], signal) => evaluateReranking(d!, queries, p.batchSize, signal), p.target)
      yield* ctx.log(`reranking: ${JSON.stringify(metrics)}`)
      yield* writeJson(EvaluateError, ctx.outDir, "eval.json", { kind: "reranking", metrics })
    }),
})
