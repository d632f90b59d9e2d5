// Shared reading of the tab-separated STS files: fields split on TAB only, quotes taken literally
// (the STS-benchmark has unbalanced quotes such as `"When in doubt, throw it out!`, which a CSV
// parser would run into the next lines), and the gold score checked as a number on a known scale.

import { DatasetError } from "./errors.ts"
import { numberedLines, readDatasetText, recordLimit, requireRecords, type LoadOptions } from "./read-text.ts"

export interface TabSeparatedLine {
  readonly line: number
  readonly fields: readonly string[]
}

export interface TabSeparatedLayout {
  /** Column names, used in error messages; lines may have more fields than this (ignored). */
  readonly columns: readonly string[]
}

const numberPattern = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

/** Splits each non-blank line on tabs and checks it has at least the layout's columns. */
export const tabSeparatedLines = (text: string, file: string, layout: TabSeparatedLayout, options?: LoadOptions): TabSeparatedLine[] => {
  const limit = recordLimit(file, options)
  const out: TabSeparatedLine[] = []
  for (const { line, content } of numberedLines(text, file)) {
    if (out.length >= limit) break
    const fields = content.split("\t")
    if (fields.length < layout.columns.length) {
      throw new DatasetError({
        reason: "invalid-record",
        file,
        line,
        detail: `expected ${layout.columns.length} tab-separated fields (${layout.columns.join(", ")}), got ${fields.length}`,
      })
    }
    out.push({ line, fields })
  }
  return requireRecords(file, out)
}

/** Reads a numeric column, requiring it to lie in [min, max]. */
export const scoreField = (file: string, row: TabSeparatedLine, layout: TabSeparatedLayout, column: string, min: number, max: number): number => {
  const index = layout.columns.indexOf(column)
  const raw = (row.fields[index] ?? "").trim()
  const score = numberPattern.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isFinite(score) || score < min || score > max) {
    throw new DatasetError({
      reason: "invalid-record",
      file,
      line: row.line,
      detail: `field "${column}" (column ${index + 1}): expected a number from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    })
  }
  return score
}

export const field = (row: TabSeparatedLine, layout: TabSeparatedLayout, column: string): string => row.fields[layout.columns.indexOf(column)] ?? ""

export const readTabSeparated = async (file: string, layout: TabSeparatedLayout, options?: LoadOptions): Promise<TabSeparatedLine[]> => {
  recordLimit(file, options)
  return tabSeparatedLines(await readDatasetText(file), file, layout, options)
}
