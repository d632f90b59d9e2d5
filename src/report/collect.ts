// A run record and the cache → the report model. Artifact files are read from the blob store
// through each output's tree manifest (nothing is materialised), every JSON file through a loose
// schema of the fields the report shows, so a malformed one is an error naming the node and file.
// An output the cache no longer holds (gc) is listed as missing with the sections it would have
// filled left out; the caller says how to re-create it.
import { existsSync, readFileSync } from "node:fs"
import { z } from "zod"
import { blobPath } from "../cache/blobs.ts"
import type { CacheLayout } from "../cache/layout.ts"
import type { RunRecord, RunStep } from "../cache/run-records.ts"
import { readManifest, treeComplete } from "../cache/tree.ts"
import { parseJsonText } from "../schema/index.ts"
import { environment } from "./environment.ts"
import type { AccuracyRow, BenchRow, FidelityRow, ReportModel, SensitivityRow } from "./model.ts"
import { ReportSpec, type ReportRow } from "./spec.ts"

const Figures = z.record(z.string(), z.unknown())
const EvalJson = z.looseObject({ metrics: z.looseObject({ main_score: z.number() }) })
const FidelityJson = z.looseObject({
  fidelity: Figures,
  reference: z.looseObject({ main_score: z.number().optional() }).optional(),
  distribution: z.looseObject({ measure: z.string(), quantiles: z.record(z.string(), z.number()), histogram: z.object({ edges: z.array(z.number()), counts: z.array(z.number()) }) }).optional(),
  worst: z.array(z.record(z.string(), z.unknown())).optional(),
})
const Latency = z.looseObject({ avg: z.number(), p50: z.number().nullable(), p90: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable() })
const BenchJson = z.looseObject({
  target: z.string(),
  device: z.string(),
  configs: z.array(z.looseObject({ batch: z.number(), instances: z.number(), qps: z.number(), latency: Latency })),
  details: z.record(z.string(), z.unknown()).default({}),
})
const KilnJson = z.looseObject({
  quantization: z
    .looseObject({
      scheme: z.string(),
      details: z
        .looseObject({
          sensitivity: z
            .looseObject({
              groups: z.array(z.looseObject({ group: z.string(), loss: z.number(), macsPerToken: z.number() })),
              keptFloat: z.array(z.looseObject({ group: z.string() })),
              steps: z.array(z.looseObject({ action: z.string(), keptFloat: z.array(z.string()), mean: z.number(), min: z.number(), floatMacsShare: z.number(), met: z.boolean() })).default([]),
              floatMacsShare: z.number(),
              met: z.boolean(),
            })
            .optional(),
        })
        .optional(),
    })
    .nullable()
    .optional(),
})

/** A file of an output tree as text, from its blob; undefined when the tree has no such file. */
export const readTreeFile = (layout: CacheLayout, tree: string, file: string): string | undefined => {
  const entry = readManifest(layout, tree)?.entries.find((e) => e.path === file)
  if (entry === undefined || !existsSync(blobPath(layout, entry.digest))) return undefined
  return readFileSync(blobPath(layout, entry.digest), "utf8")
}

const isUsed = (s: RunStep): boolean => s.step !== "source" && s.output !== undefined && (s.status === "ran" || s.status === "cached" || s.status === "remote")

/** Without a spec: one row per evaluate / fidelity / bench / quantize node, labelled by its id. */
const defaultRows = (steps: readonly RunStep[]): ReportRow[] => {
  const rows: ReportRow[] = []
  for (const s of steps) {
    if (s.step === "evaluate" || s.step === "evaluateRerank") rows.push({ label: s.id, evaluate: s.id })
    else if (s.step === "fidelity") rows.push({ label: s.id, fidelity: s.id })
    else if (s.step === "bench") rows.push({ label: s.id, bench: s.id })
    else if (s.step === "quantize") rows.push({ label: s.id, quantize: s.id })
  }
  return rows
}

export const collectReport = (layout: CacheLayout, runId: string, record: RunRecord): ReportModel => {
  const steps = record.steps ?? []
  const spec = ReportSpec.safeParse(record.report ?? {})
  const rows = spec.success && spec.data.rows.length > 0 ? spec.data.rows : defaultRows(steps)
  const byId = new Map(steps.map((s) => [s.id, s]))
  const used = steps.filter(isUsed)
  const missing = used.filter((s) => !treeComplete(layout, s.output!))
  const missingIds = new Set(missing.map((s) => s.id))

  /** Node `id`'s `file` through `schema`; undefined when the node did not finish or its output is gone. */
  const read = <S extends z.ZodType>(id: string | undefined, file: string, schema: S, what: string): z.output<S> | undefined => {
    const s = id === undefined ? undefined : byId.get(id)
    if (s === undefined || !isUsed(s) || missingIds.has(s.id)) return undefined
    const text = readTreeFile(layout, s.output!, file)
    return text === undefined ? undefined : parseJsonText(text, `${s.id}/${file}`, schema, what)
  }

  const accuracy: AccuracyRow[] = []
  const fidelity: FidelityRow[] = []
  const sensitivity: SensitivityRow[] = []
  const bench: BenchRow[] = []
  for (const row of rows) {
    const ev = read(row.evaluate, "eval.json", EvalJson, "the evaluation report")
    const fi = read(row.fidelity, "eval.json", FidelityJson, "the fidelity report")
    if (ev !== undefined) {
      const metrics = ev.metrics as Record<string, unknown>
      const metric = typeof metrics.map === "number" ? "map" : "cosine_spearman"
      // evaluate reads an embed step's artifact: the target is the one that embedded.
      const runsOn = byId.get(row.evaluate!)?.runsOn ?? (row.embed !== undefined ? byId.get(row.embed)?.runsOn : undefined)
      accuracy.push({
        label: row.label,
        node: row.evaluate!,
        metric,
        value: ev.metrics.main_score,
        ...(fi?.reference?.main_score !== undefined ? { reference: fi.reference.main_score } : {}),
        ...(row.published !== undefined ? { published: row.published } : {}),
        ...(runsOn !== undefined ? { runsOn } : {}),
      })
    }
    if (fi !== undefined) {
      const figures = Object.fromEntries(Object.entries(fi.fidelity).filter((e): e is [string, number] => typeof e[1] === "number"))
      const worst = (fi.worst ?? []).map((w) => Object.fromEntries(Object.entries(w).filter((e): e is [string, string | number] => typeof e[1] === "string" || typeof e[1] === "number")))
      fidelity.push({ label: row.label, node: row.fidelity!, figures, worst, ...(fi.distribution !== undefined ? { distribution: fi.distribution } : {}) })
    }
    const be = read(row.bench, "bench.json", BenchJson, "the benchmark report")
    if (be !== undefined) {
      bench.push({
        label: row.label,
        node: row.bench!,
        target: be.target,
        device: be.device,
        configs: be.configs.map((c) => ({ batch: c.batch, instances: c.instances, qps: c.qps, latency: { avg: c.latency.avg, p50: c.latency.p50, p90: c.latency.p90, p95: c.latency.p95, p99: c.latency.p99 } })),
      })
    }
    const q = read(row.quantize, "kiln.json", KilnJson, "the quantized model's manifest")?.quantization
    const search = q?.details?.sensitivity
    if (q != null && search !== undefined) {
      const kept = new Set(search.keptFloat.map((k) => k.group))
      sensitivity.push({
        label: row.label,
        node: row.quantize!,
        scheme: q.scheme,
        groups: search.groups.map((g) => ({ group: g.group, loss: g.loss, macsPerToken: g.macsPerToken, keptFloat: kept.has(g.group) })),
        steps: search.steps.map((st) => ({ action: st.action, keptFloat: st.keptFloat.length, mean: st.mean, min: st.min, floatMacsShare: st.floatMacsShare, met: st.met })),
        int8MacsShare: 1 - search.floatMacsShare,
        met: search.met,
      })
    }
  }

  const artifacts = used
    .filter((s) => !missingIds.has(s.id))
    .map((s) => {
      const entries = readManifest(layout, s.output!)?.entries ?? []
      return { node: s.id, step: s.step, digest: s.output!, bytes: entries.reduce((a, e) => a + e.size, 0), files: entries.length }
    })
  const benchDetails = bench.length > 0 ? read(bench[0]!.node, "bench.json", BenchJson, "the benchmark report")?.details : undefined
  const title = (spec.success ? spec.data.title : undefined) ?? record.pipeline
  return {
    format: 1,
    title,
    pipeline: record.pipeline,
    run: { id: runId, ok: record.ok ?? steps.every((s) => s.status !== "failed"), lockFile: record.lockFile, ...(record.startedAt !== undefined ? { startedAt: record.startedAt } : {}), ...(record.command !== undefined ? { command: record.command } : {}) },
    steps: [...steps],
    accuracy,
    fidelity,
    sensitivity,
    bench,
    artifacts,
    missing: missing.map((s) => ({ node: s.id, step: s.step, digest: s.output! })),
    environment: environment(benchDetails),
  }
}
