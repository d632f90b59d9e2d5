// Dataset splits from the Hugging Face Hub as artifacts. `hubDataset(spec)` is a dataset repo
// fetched by hf() (its commit in the key) and one step turning the split's parquet or JSON-lines
// files into the data.jsonl the evaluation steps read, checked by the same loaders as local
// files; a row with the wrong columns is reported by its source file and row.
// Kinds: "hub-dataset" (the repo's files) → "sts-dataset" | "rerank-dataset".
import { readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { DatasetError, loadRerankingJsonl, loadStsJsonl, originOf, writeSplitAsJsonLines } from "../../src/datasets/index.ts"
import { defineStep } from "../../src/engine/index.ts"
import { describeWanted, selectFiles, type WantedFiles } from "../../src/hub/index.ts"
import { hf, type HfOptions } from "../sources/hf.ts"
import { attempt, attemptSync, type StepErrorFields } from "./attempt.ts"

/** How stsFromHub / rerankFromHub fail: a split that is not there (naming the files there are), or a row with the wrong columns (naming the source file and row). */
export class HubDatasetError extends Data.TaggedError("HubDatasetError")<StepErrorFields> {}

const params = z.object({
  /** The split's files as alternatives of repo-path globs; the first alternative present is read, files in path order. */
  oneOf: z.array(z.array(z.string().min(1)).min(1)).min(1),
  /** Keep only the first rows (e.g. the first 100 MS MARCO dev queries). */
  limit: z.number().int().positive().optional(),
})

/** Files under `dir` by repo path, following the snapshot's links to their blobs. */
const filesUnder = (dir: string): string[] =>
  (readdirSync(dir, { recursive: true }) as string[]).map((p) => p.split("\\").join("/")).filter((p) => statSync(join(dir, p)).isFile()).sort()

const convert = (load: (file: string) => Promise<unknown[]>) => (ctx: { inputs: { repo: { path: string } }; params: z.output<typeof params>; outDir: string; log: (line: string) => Effect.Effect<void> }) =>
  Effect.gen(function* () {
    const want: WantedFiles = { what: "the split's files", oneOf: ctx.params.oneOf }
    const available = yield* attemptSync(HubDatasetError, () => filesUnder(ctx.inputs.repo.path))
    const selection = selectFiles(available, [want])
    if (selection.missing.length > 0) return yield* new HubDatasetError({ message: `the dataset has no ${describeWanted(want)}; it has ${available.join(", ") || "no files"}`, hint: "check the split name and the revision" })
    const out = join(ctx.outDir, "data.jsonl")
    const result = yield* attempt(
      HubDatasetError,
      async () => {
        const origins = await writeSplitAsJsonLines(selection.files.map((f) => [f, join(ctx.inputs.repo.path, f)] as const), out, ctx.params.limit)
        try {
          return { rows: (await load(out)).length, origins }
        } catch (e) {
          throw e instanceof DatasetError ? originOf(e, origins) : e
        }
      },
      "the split's columns do not match this kind of dataset",
    )
    yield* ctx.log(`${result.rows} records from ${result.origins.map((o) => `${o.file} (${o.rows})`).join(", ")}`)
  })

/** A step converting a "hub-dataset" split into the `output` kind, checked by that kind's loader. */
const fromHub = <const Name extends string, const Output extends string>(name: Name, output: Output, load: (file: string) => Promise<unknown[]>) =>
  defineStep({ name, version: 1, params, inputs: { repo: "hub-dataset" }, output, resources: "io", run: convert(load) })

export const stsFromHub = fromHub("stsFromHub", "sts-dataset", (file) => loadStsJsonl(file))
export const rerankFromHub = fromHub("rerankFromHub", "rerank-dataset", (file) => loadRerankingJsonl(file))

/** A split of a Hub dataset, as a preset names it. */
export interface HubSplit {
  readonly repo: string
  /** Branch, tag or commit sha; default "main". */
  readonly revision?: string
  /** Split name as the repo's files spell it: "test", "dev". */
  readonly split: string
  readonly limit?: number
}

type SourceOptions = Pick<HfOptions<"hub-dataset">, "settings">

/** Where a split lives in a dataset repo: JSON lines, the datasets library's parquet, or the Hub's parquet conversion. */
export const splitFiles = (split: string): string[][] => [[`${split}.jsonl.gz`], [`${split}.jsonl`], [`data/${split}-*.parquet`], [`${split}-*.parquet`], [`default/${split}/*.parquet`]]

const splitSource = (spec: HubSplit, options: SourceOptions) =>
  hf(spec.repo, {
    type: "dataset",
    kind: "hub-dataset",
    want: [{ what: `${spec.split} split`, oneOf: splitFiles(spec.split) }],
    id: `hf:${spec.repo}`,
    ...(spec.revision !== undefined ? { revision: spec.revision } : {}),
    ...options,
  })
const splitParams = (spec: HubSplit) => ({ oneOf: splitFiles(spec.split), ...(spec.limit !== undefined ? { limit: spec.limit } : {}) })
const splitId = (spec: HubSplit) => `${spec.repo.split("/").pop()}-${spec.split}`

/** STS pairs from a Hub dataset split ({sentence1, sentence2, score} columns). */
export const hubStsDataset = (spec: HubSplit, options: SourceOptions = {}) => stsFromHub(splitParams(spec)).as(splitId(spec)).to(splitSource(spec, options))

/** Reranking queries from a Hub dataset split ({query, positive_passages, negative_passages} or {query, pos, neg}). */
export const hubRerankDataset = (spec: HubSplit, options: SourceOptions = {}) => rerankFromHub(splitParams(spec)).as(splitId(spec)).to(splitSource(spec, options))
