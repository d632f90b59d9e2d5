// Writes a report's three files — report.html, report.md, report.json — under the cache's
// reports.v1/<name>/, each through a temp file and a rename so a reader never sees half of one.
import { mkdirSync, renameSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { CacheLayout } from "../cache/layout.ts"

export interface ReportFiles {
  readonly html: string
  readonly markdown: string
  readonly json: string
}

export const writeReportFiles = (layout: CacheLayout, name: string, content: { readonly html: string; readonly markdown: string; readonly json: unknown }): ReportFiles => {
  const dir = join(layout.reports, name)
  mkdirSync(dir, { recursive: true })
  const put = (file: string, text: string): string => {
    const path = join(dir, file)
    writeFileSync(`${path}.tmp-${process.pid}`, text)
    renameSync(`${path}.tmp-${process.pid}`, path)
    return path
  }
  return { html: put("report.html", content.html), markdown: put("report.md", content.markdown), json: put("report.json", JSON.stringify(content.json, null, 2) + "\n") }
}
