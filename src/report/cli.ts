// `bun run kiln report <lock file | run> [--compare A B] [--cache-dir DIR] [--json]`: regenerates a
// run's report from the cache (report.html / .md / .json under reports.v1/<run id>/), or compares
// two runs. Exit codes: 0 written; 1 written but incomplete (artifacts gone) or — with --compare —
// regressions found; 2 bad input (the message names what was looked for).
import { appendFileSync, readFileSync } from "node:fs"
import { parseArgs } from "node:util"
import { cacheLayout, resolveCacheRoot } from "../cache/layout.ts"
import { buildReport, modelOf } from "./build.ts"
import { compareReports, defaultThresholds, renderComparisonHtml, renderComparisonMarkdown } from "./compare.ts"
import { ReportError } from "./errors.ts"
import { asLockFile, findRun, runsOfLock, type FoundRun } from "./find-run.ts"
import { pipelineCommand } from "./sections.ts"
import type { CacheLayout } from "../cache/layout.ts"
import { writeReportFiles } from "./write.ts"

/** A lock file's run before its latest, and its latest: what `--compare <lock file>` compares. */
const previousAndLatest = (layout: CacheLayout, arg: string): FoundRun[] => {
  const lock = asLockFile(arg)
  if (lock === undefined) throw new ReportError({ message: `--compare ${arg}: with one argument, expected a lock file (its last two runs are compared)`, hint: "pass two lock files or runs, A and B" })
  const runs = runsOfLock(layout, lock)
  if (runs.length < 2) throw new ReportError({ message: `--compare ${arg}: the cache ${layout.root} has ${runs.length === 0 ? "no run" : "one run"} of this lock file; comparing needs two`, hint: "run the pipeline again, or pass two lock files or runs" })
  return runs.slice(-2)
}

interface Out {
  write(s: string): unknown
}

export const REPORT_USAGE = `Usage: bun run kiln report <lock file | run id> [--cache-dir DIR] [--json]
       bun run kiln report --compare <A> [<B>] [--metric-drop X] [--speed-percent P] [--cache-dir DIR] [--json]

Writes the run's report (report.html, report.md, report.json) under <cache>/reports.v1/<run id>/
from the run record and the artifacts in the cache. A lock file stands for its latest run here.
--compare: B against A (lock files or runs; a lock file alone: its latest run against the one before), flagging drops in accuracy or fidelity beyond
--metric-drop (default ${defaultThresholds.metricDrop}) and in speed beyond --speed-percent (default ${defaultThresholds.speedPercent}); exit 1 on a regression.
With $GITHUB_STEP_SUMMARY set, the Markdown is appended to it.`

export const reportCli = async (argv: readonly string[], out: Out, err: Out, env: Record<string, string | undefined> = process.env): Promise<number> => {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { "cache-dir": { type: "string" }, compare: { type: "boolean" }, json: { type: "boolean" }, "metric-drop": { type: "string" }, "speed-percent": { type: "string" }, help: { type: "boolean", short: "h" } },
    })
  } catch (e) {
    err.write(`error: kiln report: ${(e as Error).message}\n${REPORT_USAGE}\n`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help === true) {
    out.write(REPORT_USAGE + "\n")
    return 0
  }
  const fits = values.compare === true ? positionals.length === 1 || positionals.length === 2 : positionals.length === 1
  if (!fits) {
    err.write(`error: kiln report${values.compare === true ? " --compare" : ""}: expected ${values.compare === true ? "two lock files or runs (A and B), or one lock file" : "one lock file or run"}, got ${positionals.length}\n${REPORT_USAGE}\n`)
    return 2
  }
  const number = (flag: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback
    const v = Number(raw)
    if (!Number.isFinite(v) || v < 0) throw new ReportError({ message: `--${flag} ${raw}: expected a non-negative number` })
    return v
  }
  const layout = cacheLayout(resolveCacheRoot(values["cache-dir"], env))
  const summary = (markdownPath: string) => {
    const file = env.GITHUB_STEP_SUMMARY
    if (file !== undefined && file !== "") appendFileSync(file, readFileSync(markdownPath, "utf8") + "\n")
  }
  try {
    if (values.compare === true) {
      const thresholds = { metricDrop: number("metric-drop", values["metric-drop"], defaultThresholds.metricDrop), speedPercent: number("speed-percent", values["speed-percent"], defaultThresholds.speedPercent) }
      const [a, b] = (positionals.length === 2 ? positionals.map((p) => findRun(layout, p)) : previousAndLatest(layout, positionals[0]!)) as [FoundRun, FoundRun]
      const comparison = compareReports(modelOf(layout, a), modelOf(layout, b), thresholds)
      const markdown = renderComparisonMarkdown(comparison)
      const files = writeReportFiles(layout, `compare-${a.id}-${b.id}`, { html: renderComparisonHtml(comparison), markdown, json: comparison })
      summary(files.markdown)
      out.write(values.json === true ? JSON.stringify({ ...files, regressions: comparison.regressions }) + "\n" : `${markdown}\nreport: ${files.html}\n`)
      return comparison.regressions > 0 ? 1 : 0
    }
    const run = findRun(layout, positionals[0]!)
    const { model, files } = buildReport(layout, run)
    summary(files.markdown)
    if (model.missing.length > 0) {
      err.write(
        `warning: ${model.missing.length} output(s) of run ${run.id} are no longer in the cache (garbage-collected?): ${model.missing.map((m) => `${m.node} (${m.step})`).join(", ")}; the report leaves out what they held\n  hint: re-create them by running the pipeline again: \`${pipelineCommand(model.run)}\`\n`,
      )
    }
    out.write(values.json === true ? JSON.stringify({ ...files, run: run.id, ok: model.run.ok, missing: model.missing.map((m) => m.node) }) + "\n" : `report: ${files.html}\n  markdown: ${files.markdown}\n  json: ${files.json}\n`)
    return model.missing.length > 0 ? 1 : 0
  } catch (e) {
    if (e instanceof ReportError) {
      err.write(`error: ${e.message}${e.hint !== undefined ? `\n  hint: ${e.hint}` : ""}\n`)
      return 2
    }
    const json = (e as { name?: string }).name === "JsonFileError"
    if (json) {
      err.write(`error: ${(e as Error).message}\n`)
      return 2
    }
    throw e
  }
}
