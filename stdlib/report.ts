// A short results table for examples and pipelines: one row per deployment with its accuracy,
// fidelity and speed, read from the eval and bench artifacts of a finished run; and `runReport`,
// the hook that writes a run's full report. Each file is read
// through its schema (only the fields the table shows), so a malformed one is an error naming
// the file and the field, not a silent "—".
import { existsSync } from "node:fs"
import { join } from "node:path"
import { z } from "zod"
import type { ExecuteResult, RunReportHook } from "../src/cli/index.ts"
import { reportRun, type ReportSpec } from "../src/report/index.ts"
import { readJsonFile } from "../src/schema/index.ts"
import { BenchReport } from "../src/targets/index.ts"

export interface RunRow {
  /** Row label, e.g. "fp32" or "int8". */
  readonly label: string
  /** Node ids whose outputs fill the row (any of them may be absent). */
  readonly evaluate?: string
  readonly fidelity?: string
  readonly bench?: string
}

type Step = { id: string; outputs: Record<string, { path: string }> }

const EvalJson = z.looseObject({ metrics: z.looseObject({ main_score: z.number() }) })
const FidelityJson = z.looseObject({
  fidelity: z.looseObject({ cosine_mean: z.number().optional(), cosine_min: z.number().optional(), score_spearman: z.number().optional(), score_pearson: z.number().optional() }),
})

/** `file` of node `id`'s output, read through `schema`; undefined when the node or file is absent. */
const readReport = <S extends z.ZodType>(steps: readonly Step[], id: string | undefined, file: string, schema: S, what: string): z.output<S> | undefined => {
  const path = steps.find((s) => s.id === id)?.outputs.out?.path
  if (path === undefined || !existsSync(join(path, file))) return undefined
  return readJsonFile(join(path, file), schema, what)
}

const fmt = (v: unknown, digits = 4): string => (typeof v === "number" ? v.toFixed(digits) : "—")

/** Prints a table of the rows; returns it too. */
export const printRunTable = (result: ExecuteResult, rows: readonly RunRow[], out: { write(s: string): unknown } = process.stdout): string => {
  const steps = (result.summary?.steps ?? []) as Step[]
  const header = ["model", "STS spearman", "fidelity mean cos", "min cos", "qps (batch)", "p50 latency µs"]
  const lines = rows.map((row) => {
    const ev = readReport(steps, row.evaluate, "eval.json", EvalJson, "the evaluation report")
    const fi = readReport(steps, row.fidelity, "eval.json", FidelityJson, "the fidelity report")
    const be = readReport(steps, row.bench, "bench.json", BenchReport, "the benchmark report")
    const best = be?.configs.reduce((a, b) => (b.qps > a.qps ? b : a))
    return [
      row.label,
      fmt(ev?.metrics?.main_score),
      fmt(fi?.fidelity?.cosine_mean ?? fi?.fidelity?.score_spearman, 6),
      fmt(fi?.fidelity?.cosine_min ?? fi?.fidelity?.score_pearson, 6),
      best !== undefined ? `${best.qps.toFixed(1)} (${best.batch})` : "—",
      // vamp prints no percentiles: its average stands in, marked.
      best === undefined ? "—" : best.latency.p50 !== null ? best.latency.p50.toFixed(0) : `${best.latency.avg.toFixed(0)} (avg)`,
    ]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const render = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ")
  const table = [render(header), render(widths.map((w) => "-".repeat(w))), ...lines.map(render)].join("\n") + "\n"
  out.write(table)
  return table
}

/**
 * The run's report (src/report): after every real run the CLI records the run, then this writes
 * report.html / .md / .json under the cache's reports.v1/<run id>/ and the CLI prints the path.
 * `spec` is asked once the pipeline is built (rows may depend on the flags).
 */
export const runReport = (spec: () => ReportSpec = () => ({})): RunReportHook => ({
  spec,
  write: async ({ cacheRoot, runId }) => reportRun(cacheRoot, runId),
})
