// One run's report end to end: its record → the model (collect.ts) → report.html / .md / .json
// under the cache's reports.v1/<run id>/. Used after a run (the pipeline's report hook) and by
// `kiln report`, so both write the same files.
import { cacheLayout, type CacheLayout } from "../cache/layout.ts"
import { readRunRecord, runRecordPath } from "../cache/run-records.ts"
import { collectReport } from "./collect.ts"
import { ReportError } from "./errors.ts"
import type { FoundRun } from "./find-run.ts"
import { renderHtml } from "./html.ts"
import { renderMarkdown } from "./markdown.ts"
import { pipelineCommand } from "./sections.ts"
import type { ReportModel } from "./model.ts"
import { writeReportFiles, type ReportFiles } from "./write.ts"

export const modelOf = (layout: CacheLayout, run: FoundRun): ReportModel => {
  if (run.record.steps === undefined) {
    throw new ReportError({ message: `run ${run.id} (${run.record.pipeline}) was recorded by a kiln that kept no step details, so it has no report`, hint: `run the pipeline again: \`${pipelineCommand(run.record)}\`` })
  }
  return collectReport(layout, run.id, run.record)
}

export const buildReport = (layout: CacheLayout, run: FoundRun): { readonly model: ReportModel; readonly files: ReportFiles } => {
  const model = modelOf(layout, run)
  return { model, files: writeReportFiles(layout, run.id, { html: renderHtml(model), markdown: renderMarkdown(model), json: model }) }
}

/** The report of run `runId` in the cache at `cacheRoot` (what a pipeline's report hook calls). */
export const reportRun = (cacheRoot: string, runId: string): ReportFiles => {
  const layout = cacheLayout(cacheRoot)
  return buildReport(layout, { id: runId, record: readRunRecord(runRecordPath(layout, runId)) }).files
}
