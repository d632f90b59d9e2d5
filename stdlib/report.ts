// A short results table for examples and pipelines: one row per deployment with its accuracy,
// fidelity and speed, read from the eval and bench artifacts of a finished run.
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import type { ExecuteResult } from "../src/cli/index.ts"

export interface RunRow {
  /** Row label, e.g. "fp32" or "int8". */
  readonly label: string
  /** Node ids whose outputs fill the row (any of them may be absent). */
  readonly evaluate?: string
  readonly fidelity?: string
  readonly bench?: string
}

type Step = { id: string; outputs: Record<string, { path: string }> }

const readJson = (steps: readonly Step[], id: string | undefined, file: string): Record<string, any> | undefined => {
  const step = steps.find((s) => s.id === id)
  const path = step?.outputs.out?.path
  if (path === undefined || !existsSync(join(path, file))) return undefined
  return JSON.parse(readFileSync(join(path, file), "utf8"))
}

const fmt = (v: unknown, digits = 4): string => (typeof v === "number" ? v.toFixed(digits) : "—")

/** Prints a table of the rows; returns it too. */
export const printRunTable = (result: ExecuteResult, rows: readonly RunRow[], out: { write(s: string): unknown } = process.stdout): string => {
  const steps = (result.summary?.steps ?? []) as Step[]
  const header = ["model", "STS spearman", "fidelity mean cos", "min cos", "qps (batch)", "p50 latency µs"]
  const lines = rows.map((row) => {
    const ev = readJson(steps, row.evaluate, "eval.json")
    const fi = readJson(steps, row.fidelity, "eval.json")
    const be = readJson(steps, row.bench, "bench.json")
    const best = (be?.configs as { batch: number; qps: number; latency: { avg: number; p50: number | null } }[] | undefined)?.reduce((a, b) => (b.qps > a.qps ? b : a))
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
