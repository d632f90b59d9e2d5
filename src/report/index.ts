// Run reports: a run record and its artifacts → one self-contained HTML page with plots, Markdown
// and JSON; comparisons of two runs; `kiln report`.
export { buildReport, modelOf, reportRun } from "./build.ts"
export { collectReport, readTreeFile } from "./collect.ts"
export { compareReports, defaultThresholds, type Comparison, type Thresholds } from "./compare.ts"
export { ReportError } from "./errors.ts"
export { findRun, runsOfLock, type FoundRun } from "./find-run.ts"
export { renderHtml } from "./html.ts"
export { renderMarkdown } from "./markdown.ts"
export { ReportModel } from "./model.ts"
export { ReportSpec, type ReportRow } from "./spec.ts"
export { reportCli, REPORT_USAGE } from "./cli.ts"
export type { ReportFiles } from "./write.ts"
