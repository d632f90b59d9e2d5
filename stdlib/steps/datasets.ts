// Dataset nodes: local JSON-lines files as sources, and seeded synthetic sets for offline runs.
// Artifact kinds: "sts-dataset" (a folder with data.jsonl of {sentence1, sentence2, score}) and
// "rerank-dataset" (data.jsonl of {query, pos[], neg[]}).
import { join } from "node:path"
import * as Data from "effect/Data"
import { z } from "zod"
import { syntheticRerankQueries, syntheticStsPairs } from "../../src/datasets/index.ts"
import { defineStep, local } from "../../src/engine/index.ts"
import type { StepErrorFields } from "./attempt.ts"
import { writeText } from "./write-report.ts"

/** How the synthetic dataset steps fail: writing data.jsonl. */
export class SynthDatasetError extends Data.TaggedError("SynthDatasetError")<StepErrorFields> {}

/** An STS JSON-lines file (mteb/sts12-sts layout) or a folder holding data.jsonl. */
export const stsDataset = (path: string, id?: string) => local("sts-dataset", path, id)
/** A reranking JSON-lines file (msmarco or FlagEmbedding layout) or a folder holding data.jsonl. */
export const rerankDataset = (path: string, id?: string) => local("rerank-dataset", path, id)

export const synthSts = defineStep({
  name: "synthSts",
  version: 1,
  params: z.object({ pairs: z.number().int().positive().max(100_000).default(256), seed: z.number().int().default(1) }),
  inputs: {},
  output: "sts-dataset",
  resources: "io",
  run: (ctx) =>
    writeText(SynthDatasetError, ctx.outDir, "data.jsonl", syntheticStsPairs(ctx.params.pairs, ctx.params.seed).map((p) => JSON.stringify(p)).join("\n") + "\n"),
})

export const synthRerank = defineStep({
  name: "synthRerank",
  version: 1,
  params: z.object({ queries: z.number().int().positive().max(10_000).default(32), negatives: z.number().int().positive().default(7), seed: z.number().int().default(1) }),
  inputs: {},
  output: "rerank-dataset",
  resources: "io",
  run: (ctx) =>
    writeText(
      SynthDatasetError,
      ctx.outDir,
      "data.jsonl",
      syntheticRerankQueries(ctx.params.queries, ctx.params.seed, ctx.params.negatives)
        .map((q) => JSON.stringify({ query: q.query, pos: q.positives, neg: q.negatives }))
        .join("\n") + "\n",
    ),
})
