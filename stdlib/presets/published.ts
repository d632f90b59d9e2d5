// "Measured vs published": after a preset's run, each evaluation's main figure beside what the
// seed or MTEB published for the same model, dataset and precision (or a dash where nobody did).
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import type { ExecuteResult } from "../../src/cli/index.ts"
import { datasetPresets } from "./datasets.ts"
import type { ModelPreset, Precision } from "./models.ts"
import { reportNodes } from "./pipeline.ts"

type Step = { id: string; outputs: Record<string, { path: string }> }

const metricOf = (steps: readonly Step[], id: string, metric: string): number | undefined => {
  const path = steps.find((s) => s.id === id)?.outputs.out?.path
  if (path === undefined || !existsSync(join(path, "eval.json"))) return undefined
  const report = JSON.parse(readFileSync(join(path, "eval.json"), "utf8")) as { metrics?: Record<string, unknown> }
  const value = report.metrics?.[metric === "cosine_spearman" ? "main_score" : metric]
  return typeof value === "number" ? value : undefined
}

/** The figure a preset's evaluation is judged by: MAP for rerankers, cosine Spearman for embedders. */
const mainMetric = (preset: ModelPreset) => (datasetPresets[preset.evalSet].kind === "rerank" ? "map" : "cosine_spearman")

/** What the seed or MTEB published for the preset's evaluation set at `precision`, if anyone did. */
const publishedFigure = (preset: ModelPreset, precision: Precision) => preset.published.find((f) => f.precision === precision && f.dataset === preset.evalSet && f.metric === mainMetric(preset))

/** The table's rows: precision, measured, published (and by whom). */
export const measuredVsPublished = (preset: ModelPreset, precision: Precision, result: ExecuteResult) => {
  const steps = (result.summary?.steps ?? []) as Step[]
  const metric = mainMetric(preset)
  const rows = [{ precision, id: reportNodes.evaluate }, ...(precision !== "fp32" ? [{ precision: "fp32" as const, id: reportNodes.evaluateFp32 }] : [])]
  return rows.map(({ precision: p, id }) => {
    const published = publishedFigure(preset, p)
    return { precision: p, metric, measured: metricOf(steps, id, metric), published: published?.value, source: published?.source }
  })
}

/** The run report's rows: the deployment built and (for fp16 / int8) its fp32 reference, each beside its published figure. */
export const presetReportSpec = (preset: ModelPreset, precision: Precision) => {
  const published = (p: Precision) => {
    const f = publishedFigure(preset, p)
    return f === undefined ? {} : { published: { metric: mainMetric(preset), value: f.value, source: f.source } }
  }
  return {
    title: `${preset.repo} ${precision}`,
    rows: [
      { label: precision, evaluate: reportNodes.evaluate, embed: reportNodes.embed, fidelity: reportNodes.fidelity, bench: reportNodes.bench, ...(precision === "int8" ? { quantize: "quantize" } : {}), ...published(precision) },
      ...(precision !== "fp32" ? [{ label: "fp32", evaluate: reportNodes.evaluateFp32, embed: reportNodes.embedFp32, ...published("fp32") }] : []),
    ],
  }
}

export const printMeasuredVsPublished = (preset: ModelPreset, precision: Precision, result: ExecuteResult, out: { write(s: string): unknown } = process.stdout): void => {
  const rows = measuredVsPublished(preset, precision, result)
  const fmt = (v: number | undefined) => (v === undefined ? "—" : v.toFixed(5))
  const lines = [`${preset.repo} on ${datasetPresets[preset.evalSet].title} (${rows[0]?.metric}): measured vs published`]
  for (const r of rows) {
    const delta = r.measured !== undefined && r.published !== undefined ? ` (${r.measured - r.published >= 0 ? "+" : ""}${(r.measured - r.published).toFixed(5)})` : ""
    lines.push(`  ${r.precision.padEnd(5)} measured ${fmt(r.measured)}  published ${fmt(r.published)}${delta}${r.source !== undefined ? `  — ${r.source}` : ""}`)
  }
  out.write(lines.join("\n") + "\n")
}
