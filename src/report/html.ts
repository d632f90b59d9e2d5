// report.html: one self-contained page — the sections' tables with their plots as inline SVG, a
// small stylesheet, no script and nothing fetched, so it opens from disk or a CI artifact as is.
import type { ReportModel } from "./model.ts"
import { accuracyPlot, fidelityPlot, latencyPlot, sensitivityPlot, sizesPlot, throughputPlot, timelinePlot } from "./plots.ts"
import { sections, type Section, type Table } from "./sections.ts"

const esc = (s: string): string => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;")

const plotsFor = (m: ReportModel): Record<Section["id"], (string | undefined)[]> => ({
  failures: [],
  missing: [],
  accuracy: [accuracyPlot(m)],
  fidelity: [fidelityPlot(m)],
  sensitivity: [sensitivityPlot(m)],
  bench: [throughputPlot(m), latencyPlot(m)],
  timeline: [timelinePlot(m)],
  artifacts: [sizesPlot(m)],
  environment: [],
})

const table = (t: Table & { readonly caption?: string }): string =>
  `<table>${t.caption !== undefined ? `<caption>${esc(t.caption)}</caption>` : ""}<thead><tr>${t.headers.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${t.rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.8em 0;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}caption{text-align:left;font-weight:600;padding:4px 0}
.status-ok{color:#2ca02c}.status-failed{color:#d62728}pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px}
figure.kiln-plot{margin:1em 0}nav a{margin-right:1em}`

export const renderHtml = (m: ReportModel): string => {
  const parts = sections(m)
  const plots = plotsFor(m)
  const body = parts
    .map((s) => {
      const figures = plots[s.id].filter((p): p is string => p !== undefined).map((p) => `<figure class="kiln-plot">${p}</figure>`)
      return `<section id="${s.id}"><h2>${esc(s.title)}</h2>${s.notes.map((n) => `<p>${esc(n)}</p>`).join("")}${figures.join("")}${s.tables.map(table).join("")}${s.blocks
        .map((b) => `<p><b>${esc(b.caption)}</b></p><pre>${esc(b.lines.join("\n"))}</pre>`)
        .join("")}</section>`
    })
    .join("\n")
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(m.title)} — kiln run report</title><style>${STYLE}</style></head>
<body><h1>${esc(m.title)}: <span class="${m.run.ok ? "status-ok" : "status-failed"}">${m.run.ok ? "ok" : "FAILED"}</span></h1>
<p>Pipeline <code>${esc(m.pipeline)}</code>, run <code>${esc(m.run.id)}</code>${m.run.startedAt !== undefined ? ` started ${esc(m.run.startedAt)}` : ""}; lock file <code>${esc(m.run.lockFile)}</code>.</p>
<nav>${parts.map((s) => `<a href="#${s.id}">${esc(s.title)}</a>`).join("")}</nav>
${body}
</body></html>
`
}
