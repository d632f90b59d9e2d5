// `kiln report --compare A B`: two runs' reports side by side — accuracy and fidelity per row,
// throughput and latency per row × batch × instances — with B's change from A, flagged as a
// regression when accuracy or fidelity drops by more than `metricDrop` (absolute) or throughput
// drops / latency grows by more than `speedPercent` %. Rows are matched by their label.
import type { ReportModel } from "./model.ts"

export interface Thresholds {
  /** Absolute drop of a main score or fidelity figure that counts as a regression. */
  readonly metricDrop: number
  /** Relative loss of throughput, or growth of latency, in percent, that counts as a regression. */
  readonly speedPercent: number
}

export const defaultThresholds: Thresholds = { metricDrop: 0.002, speedPercent: 10 }

export interface ComparedRow {
  readonly what: string
  readonly a: number | undefined
  readonly b: number | undefined
  /** b − a (absolute for metrics; percent for speed). */
  readonly change: string
  readonly regression: boolean
}

export interface Comparison {
  readonly a: { readonly title: string; readonly run: string }
  readonly b: { readonly title: string; readonly run: string }
  readonly thresholds: Thresholds
  readonly rows: readonly ComparedRow[]
  readonly regressions: number
}

const metricRow = (what: string, a: number | undefined, b: number | undefined, t: Thresholds): ComparedRow => ({
  what,
  a,
  b,
  change: a !== undefined && b !== undefined ? `${b - a >= 0 ? "+" : ""}${(b - a).toFixed(5)}` : a === undefined ? "new" : "gone",
  regression: a !== undefined && b !== undefined && a - b > t.metricDrop,
})

/** `higherIsBetter`: qps; otherwise (latency) growth is the regression. */
const speedRow = (what: string, a: number | undefined, b: number | undefined, higherIsBetter: boolean, t: Thresholds): ComparedRow => {
  if (a === undefined || b === undefined || a === 0) return { what, a, b, change: a === undefined ? "new" : b === undefined ? "gone" : "—", regression: false }
  const pct = (100 * (b - a)) / a
  return { what, a, b, change: `${pct >= 0 ? "+" : ""}${pct.toFixed(1)} %`, regression: higherIsBetter ? -pct > t.speedPercent : pct > t.speedPercent }
}

const union = <T>(xs: readonly T[], ys: readonly T[]): T[] => [...new Set([...xs, ...ys])]

export const compareReports = (a: ReportModel, b: ReportModel, t: Thresholds = defaultThresholds): Comparison => {
  const rows: ComparedRow[] = []
  for (const label of union(a.accuracy.map((x) => x.label), b.accuracy.map((x) => x.label))) {
    const ra = a.accuracy.find((x) => x.label === label)
    const rb = b.accuracy.find((x) => x.label === label)
    rows.push(metricRow(`${label}: ${(ra ?? rb)!.metric}`, ra?.value, rb?.value, t))
  }
  for (const label of union(a.fidelity.map((x) => x.label), b.fidelity.map((x) => x.label))) {
    const fa = a.fidelity.find((x) => x.label === label)?.figures ?? {}
    const fb = b.fidelity.find((x) => x.label === label)?.figures ?? {}
    for (const k of union(Object.keys(fa), Object.keys(fb)).filter((k) => k !== "texts" && k !== "pairs")) {
      // |Δscore| figures of rerankers grow when fidelity drops: for them a rise is the regression.
      const row = metricRow(`${label}: fidelity ${k}`, fa[k], fb[k], t)
      rows.push(k.includes("diff") ? { ...row, regression: fa[k] !== undefined && fb[k] !== undefined && fb[k] - fa[k] > t.metricDrop } : row)
    }
  }
  const configsOf = (m: ReportModel) => m.bench.flatMap((x) => x.configs.map((c) => ({ key: `${x.label} batch ${c.batch}${c.instances > 1 ? ` ×${c.instances}` : ""}`, c })))
  const ca = configsOf(a)
  const cb = configsOf(b)
  for (const key of union(ca.map((x) => x.key), cb.map((x) => x.key))) {
    const xa = ca.find((x) => x.key === key)?.c
    const xb = cb.find((x) => x.key === key)?.c
    rows.push(speedRow(`${key}: texts/s`, xa?.qps, xb?.qps, true, t))
    rows.push(speedRow(`${key}: p50 latency µs`, xa === undefined ? undefined : (xa.latency.p50 ?? xa.latency.avg), xb === undefined ? undefined : (xb.latency.p50 ?? xb.latency.avg), false, t))
  }
  return { a: { title: a.title, run: a.run.id }, b: { title: b.title, run: b.run.id }, thresholds: t, rows, regressions: rows.filter((r) => r.regression).length }
}

const num = (v: number | undefined): string => (v === undefined ? "—" : Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(5))

export const renderComparisonMarkdown = (c: Comparison): string =>
  [
    `## Comparison: ${c.a.title} (run ${c.a.run}) → ${c.b.title} (run ${c.b.run})`,
    "",
    `${c.regressions === 0 ? "No regressions" : `**${c.regressions} regression${c.regressions === 1 ? "" : "s"}**`} beyond a drop of ${c.thresholds.metricDrop} in accuracy or fidelity, or ${c.thresholds.speedPercent} % in speed.`,
    "",
    "| | A | B | change | |",
    "| --- | --- | --- | --- | --- |",
    ...c.rows.map((r) => `| ${r.what} | ${num(r.a)} | ${num(r.b)} | ${r.change} | ${r.regression ? "REGRESSION" : ""} |`),
    "",
  ].join("\n")

const esc = (s: string): string => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")

export const renderComparisonHtml = (c: Comparison): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kiln comparison</title><style>body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}tr.regression{background:#fde2e2;font-weight:600}</style></head>
<body><h1>${esc(c.a.title)} (run ${esc(c.a.run)}) → ${esc(c.b.title)} (run ${esc(c.b.run)})</h1>
<p>${c.regressions === 0 ? "No regressions" : `${c.regressions} regression(s)`} beyond a drop of ${c.thresholds.metricDrop} in accuracy or fidelity, or ${c.thresholds.speedPercent} % in speed.</p>
<table><thead><tr><th></th><th>A</th><th>B</th><th>change</th><th></th></tr></thead><tbody>${c.rows
  .map((r) => `<tr${r.regression ? ' class="regression"' : ""}><td>${esc(r.what)}</td><td>${num(r.a)}</td><td>${num(r.b)}</td><td>${esc(r.change)}</td><td>${r.regression ? "regression" : ""}</td></tr>`)
  .join("")}</tbody></table></body></html>
`
