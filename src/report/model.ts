// The report of one run as data: what report.json holds and what the HTML and Markdown renderers
// and `--compare` read. Collected from the run record and the run's artifacts (collect.ts); every
// section is optional in the sense that it is empty when the run has nothing for it.
import { z } from "zod"
import { RunStep } from "../cache/run-records.ts"
import { Published } from "./spec.ts"

const Num = z.number()

export const AccuracyRow = z.object({
  label: z.string(),
  node: z.string(),
  metric: z.string(),
  value: Num,
  /** The same metric of the reference deployment (from the fidelity step), when the row has one. */
  reference: Num.optional(),
  published: Published.optional(),
  runsOn: z.string().optional(),
})

export const FidelityRow = z.object({
  label: z.string(),
  node: z.string(),
  /** The gate's figures: cosine_mean / cosine_p1 / cosine_min (embedders), score_* (rerankers). */
  figures: z.record(z.string(), Num),
  /** Per-text cosine (or per-pair |Δscore|) histogram and quantiles, when the fidelity step recorded them. */
  distribution: z
    .object({ measure: z.string(), quantiles: z.record(z.string(), Num), histogram: z.object({ edges: z.array(Num), counts: z.array(Num) }) })
    .optional(),
  worst: z.array(z.record(z.string(), z.union([z.string(), Num]))).default([]),
})

export const SensitivityRow = z.object({
  label: z.string(),
  node: z.string(),
  scheme: z.string(),
  /** Each group's own loss (empty when everything in int8 met the budget at once: nothing was probed). */
  groups: z.array(z.object({ group: z.string(), loss: Num, macsPerToken: Num, keptFloat: z.boolean() })),
  /** Every configuration measured, in order: groups kept in float, held-out fidelity, share of MACs in float. */
  steps: z.array(z.object({ action: z.string(), keptFloat: Num, mean: Num, min: Num, floatMacsShare: Num, met: z.boolean() })),
  /** Share of the quantizable MACs per token that run in int8. */
  int8MacsShare: Num,
  met: z.boolean(),
})

export const BenchRow = z.object({
  label: z.string(),
  node: z.string(),
  target: z.string(),
  device: z.string(),
  configs: z.array(
    z.object({ batch: Num, instances: Num, qps: Num, latency: z.object({ avg: Num, p50: Num.nullable(), p90: Num.nullable(), p95: Num.nullable(), p99: Num.nullable() }) }),
  ),
})

export const ArtifactRow = z.object({ node: z.string(), step: z.string(), digest: z.string(), bytes: Num, files: Num })

/** A node whose output this report needed but the cache no longer holds. */
export const MissingRow = z.object({ node: z.string(), step: z.string(), digest: z.string() })

export const ReportModel = z.object({
  /** report.json's format version. */
  format: z.literal(1),
  title: z.string(),
  pipeline: z.string(),
  run: z.object({ id: z.string(), ok: z.boolean(), startedAt: z.string().optional(), lockFile: z.string(), command: z.array(z.string()).optional() }),
  steps: z.array(RunStep),
  accuracy: z.array(AccuracyRow),
  fidelity: z.array(FidelityRow),
  sensitivity: z.array(SensitivityRow),
  bench: z.array(BenchRow),
  artifacts: z.array(ArtifactRow),
  missing: z.array(MissingRow),
  environment: z.record(z.string(), z.string()),
})
export type ReportModel = z.infer<typeof ReportModel>
export type AccuracyRow = z.infer<typeof AccuracyRow>
export type FidelityRow = z.infer<typeof FidelityRow>
export type SensitivityRow = z.infer<typeof SensitivityRow>
export type BenchRow = z.infer<typeof BenchRow>
