// The report's plots, rendered to SVG when the report is written (Observable Plot over linkedom's
// DOM), so the HTML opens anywhere with no script and no network. One function per plot; each
// returns the markup, or undefined when the run has nothing to plot.
import * as Plot from "@observablehq/plot"
import { parseHTML } from "linkedom"
import type { ReportModel } from "./model.ts"

const { document } = parseHTML("<!doctype html><html><head></head><body></body></html>")

const WIDTH = 760

const render = (options: Plot.PlotOptions): string => {
  const node = Plot.plot({ // linkedom's document stands in for the browser's (the project builds without the DOM typings).
    document: document as never, width: WIDTH, style: { background: "white", fontSize: "11px" }, ...options }) as unknown as { outerHTML: string }
  return node.outerHTML
}

const seconds = (ms: number) => ms / 1000

/** Measured main score per row, beside the reference deployment's and the published figure. */
export const accuracyPlot = (m: ReportModel): string | undefined => {
  const data = m.accuracy.flatMap((a) => [
    { label: a.label, kind: "measured", value: a.value },
    ...(a.reference !== undefined ? [{ label: a.label, kind: "reference", value: a.reference }] : []),
    ...(a.published !== undefined ? [{ label: a.label, kind: "published", value: a.published.value }] : []),
  ])
  if (data.length === 0) return undefined
  return render({
    height: 60 + 36 * m.accuracy.length,
    marginLeft: 170,
    x: { label: `${m.accuracy[0]!.metric} →`, grid: true },
    y: { label: null },
    color: { legend: true, domain: ["measured", "reference", "published"], range: ["#1f77b4", "#7f7f7f", "#d62728"] },
    marks: [Plot.ruleY(data, { y: "label", stroke: "#ddd" }), Plot.dot(data, { x: "value", y: "label", fill: "kind", r: 6, symbol: "kind", tip: true })],
  })
}

/** Per-text cosine to the reference (or per-pair |Δscore|) as a histogram per row. */
export const fidelityPlot = (m: ReportModel): string | undefined => {
  const rows = m.fidelity.filter((f) => f.distribution !== undefined)
  if (rows.length > 0) {
    const bins = rows.flatMap((f) => f.distribution!.histogram.counts.map((count, i) => ({ label: f.label, x1: f.distribution!.histogram.edges[i]!, x2: f.distribution!.histogram.edges[i + 1]!, count })))
    return render({
      height: 40 + 130 * rows.length,
      marginLeft: 50,
      marginRight: 120,
      x: { label: `${rows[0]!.distribution!.measure} to the reference →` },
      y: { label: "↑ texts", grid: true },
      fy: { label: null },
      marks: [Plot.rectY(bins, { x1: "x1", x2: "x2", y: "count", fy: "label", fill: "#1f77b4", insetLeft: 0.5, insetRight: 0.5 }), Plot.ruleY([0])],
    })
  }
  // Before the fidelity step recorded distributions: the gate's figures as points.
  const data = m.fidelity.flatMap((f) => Object.entries(f.figures).filter(([k]) => k !== "texts" && k !== "pairs").map(([figure, value]) => ({ label: f.label, figure, value })))
  if (data.length === 0) return undefined
  return render({
    height: 60 + 36 * m.fidelity.length,
    marginLeft: 170,
    x: { label: "fidelity to the reference →", grid: true },
    y: { label: null },
    color: { legend: true },
    marks: [Plot.dot(data, { x: "value", y: "label", fill: "figure", symbol: "figure", r: 6, tip: true })],
  })
}

/** Throughput per batch size (one line per row and instance count). */
export const throughputPlot = (m: ReportModel): string | undefined => {
  const data = m.bench.flatMap((b) => b.configs.map((c) => ({ series: c.instances > 1 ? `${b.label} ×${c.instances}` : b.label, batch: c.batch, qps: c.qps })))
  if (data.length === 0) return undefined
  return render({
    height: 300,
    x: { label: "batch size →", type: "log", base: 2 },
    y: { label: "↑ texts per second", grid: true, zero: true },
    color: { legend: true },
    marks: [Plot.line(data, { x: "batch", y: "qps", stroke: "series", marker: "circle" }), Plot.text(data, { x: "batch", y: "qps", text: (d: { qps: number }) => d.qps.toFixed(0), dy: -10, fill: "series" })],
  })
}

/** Latency percentiles per batch size, ms. */
export const latencyPlot = (m: ReportModel): string | undefined => {
  const data = m.bench.flatMap((b) =>
    b.configs.flatMap((c) =>
      (["p50", "p90", "p99"] as const).flatMap((p) => {
        const v = c.latency[p] ?? (p === "p50" ? c.latency.avg : null)
        return v === null ? [] : [{ series: `${b.label}${c.instances > 1 ? ` ×${c.instances}` : ""} ${c.latency[p] === null ? "avg" : p}`, row: b.label, percentile: p, batch: c.batch, ms: v / 1000 }]
      }),
    ),
  )
  if (data.length === 0) return undefined
  return render({
    height: 300,
    x: { label: "batch size →", type: "log", base: 2 },
    y: { label: "↑ latency per request (ms)", grid: true, zero: true },
    color: { legend: true },
    marks: [
      // p50 solid, p90 dashed, p99 dotted: one line mark each (a dash pattern is not a channel).
      ...(["p50", "p90", "p99"] as const).map((p, i) => Plot.line(data.filter((d) => d.percentile === p), { x: "batch", y: "ms", z: "series", stroke: "row", strokeDasharray: [null, "4 2", "1 2"][i] ?? undefined })),
      Plot.dot(data, { x: "batch", y: "ms", fill: "row", symbol: "percentile", tip: true }),
    ],
  })
}

/** Each group's loss when quantized, kept-in-float groups marked. */
export const sensitivityPlot = (m: ReportModel): string | undefined => {
  const data = m.sensitivity.flatMap((s) => s.groups.map((g) => ({ label: s.label, group: g.group, loss: g.loss, kept: g.keptFloat ? "kept in float" : "int8" })))
  if (data.length === 0) return undefined
  const groups = Math.max(...m.sensitivity.map((s) => s.groups.length))
  return render({
    height: 60 + Math.min(14 * groups, 1600) * m.sensitivity.length,
    marginLeft: 160,
    x: { label: "loss (1 − held-out fidelity) when this group alone is int8 →", grid: true },
    y: { label: null },
    fy: { label: null },
    color: { legend: true, domain: ["int8", "kept in float"], range: ["#1f77b4", "#ff7f0e"] },
    marks: [Plot.barX(data, { x: "loss", y: "group", fy: "label", fill: "kept", sort: { y: "-x" }, tip: true }), Plot.ruleX([0])],
  })
}

/** When each step ran (bars), and when cached or remote steps were served (dots), seconds into the run. */
export const timelinePlot = (m: ReportModel): string | undefined => {
  const steps = m.steps.filter((s) => s.endMs !== undefined && s.step !== "source")
  if (steps.length === 0) return undefined
  const bars = steps.filter((s) => s.startMs !== undefined).map((s) => ({ id: s.id, status: s.status, start: seconds(s.startMs!), end: seconds(s.endMs!) }))
  const points = steps.filter((s) => s.startMs === undefined).map((s) => ({ id: s.id, status: s.status, at: seconds(s.endMs!) }))
  return render({
    height: 50 + 22 * steps.length,
    marginLeft: 160,
    x: { label: "seconds into the run →", grid: true },
    y: { label: null, domain: steps.map((s) => s.id) },
    color: { legend: true, domain: ["ran", "cached", "remote", "failed"], range: ["#1f77b4", "#2ca02c", "#9467bd", "#d62728"] },
    marks: [Plot.barX(bars, { x1: "start", x2: "end", y: "id", fill: "status", insetTop: 3, insetBottom: 3, tip: true }), Plot.dot(points, { x: "at", y: "id", fill: "status", r: 4 }), Plot.ruleX([0])],
  })
}

/** Bytes of every output the run used. */
export const sizesPlot = (m: ReportModel): string | undefined => {
  if (m.artifacts.length === 0) return undefined
  const data = m.artifacts.map((a) => ({ node: a.node, mib: a.bytes / 1048576 }))
  return render({
    height: 50 + 20 * data.length,
    marginLeft: 160,
    x: { label: "MiB →", grid: true },
    y: { label: null, domain: data.map((d) => d.node) },
    marks: [Plot.barX(data, { x: "mib", y: "node", fill: "#1f77b4", tip: true }), Plot.ruleX([0])],
  })
}
