// The embed step: what a deployment (of any target) makes of a dataset's texts, computed once and
// cached as an artifact that evaluate, fidelity and the report read instead of running the model
// again — the distinct texts' dense vectors (bge-m3's lexical weights and multi-vectors when
// asked) or, for a reranker, each pair's score. One node per deployment × dataset × input mode.
// Kind: "deployment" (+ "sts-dataset") → "embeddings" (src/evaluate/embeddings-artifact.ts).
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { defineStep } from "../../src/engine/index.ts"
import { embedPairs, loadStsDataset, writeEmbeddings } from "../../src/evaluate/index.ts"
import { attempt, type StepErrorFields } from "./attempt.ts"
import { evalParams } from "./evaluate.ts"
import { overDeployment } from "./on-target.ts"
import { withDeployments } from "./with-deployments.ts"

/** How the embed step fails: the dataset's, runtime's or target's message, naming the file or row. */
export class EmbedError extends Data.TaggedError("EmbedError")<StepErrorFields> {}

export const embedParams = evalParams.extend({
  /** "query" prepends the deployment's query instruction (retrieval queries); STS texts are passages. */
  input: z.enum(["query", "passage"]).default("passage"),
  /** bge-m3: also store lexical weights / ColBERT multi-vectors (fails for a deployment without them). */
  sparse: z.boolean().default(false),
  colbert: z.boolean().default(false),
})

export const embed = defineStep({
  name: "embed",
  version: 1,
  params: embedParams,
  inputs: { deployment: "deployment", dataset: "sts-dataset" },
  main: "deployment",
  output: "embeddings",
  ...overDeployment,
  run: (ctx) =>
    Effect.gen(function* () {
      const p = ctx.params
      const pairs = yield* attempt(EmbedError, () => loadStsDataset(ctx.inputs.dataset.path, p.limit))
      const set = yield* withDeployments(
        EmbedError,
        [ctx.inputs.deployment.path],
        p.threads,
        ([d], signal) => embedPairs(d!, pairs, { batchSize: p.batchSize, input: p.input, sparse: p.sparse, colbert: p.colbert, signal }),
        p.target,
      )
      yield* ctx.log(`embed: ${pairs.length} pairs → ${set.texts.length} distinct texts${set.task === "reranker" ? `, ${set.scores.length} pair scores` : `, dense [${set.dense.shape.join(", ")}]`} (${p.input})`)
      yield* attempt(EmbedError, () => writeEmbeddings(ctx.outDir, set))
    }),
})
