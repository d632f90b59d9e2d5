// Reads a dataset file as UTF-8 text, converting file-system failures into DatasetError and
// validating the options every loader shares.

import { readFile } from "node:fs/promises"
import { DatasetError } from "./errors.ts"

export interface LoadOptions {
  /** Keep only the first `limit` records (blank lines do not count); later lines are not read. */
  readonly limit?: number
}

export const readDatasetText = async (file: string): Promise<string> => {
  try {
    const text = await readFile(file, "utf8")
    // A UTF-8 byte-order mark would otherwise end up inside the first field.
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  } catch (cause) {
    const code = (cause as { code?: unknown }).code
    const why = code === "ENOENT" ? "file not found" : code === "EISDIR" ? "is a directory, expected a file" : String(cause)
    throw new DatasetError({ reason: "unreadable", file, detail: `cannot read dataset: ${why}`, cause })
  }
}

/** Checks `limit` and returns it as a bound on the record count (Infinity when absent). */
export const recordLimit = (file: string, options: LoadOptions | undefined): number => {
  const limit = options?.limit
  if (limit === undefined) return Number.POSITIVE_INFINITY
  if (!Number.isInteger(limit) || limit < 1) {
    throw new DatasetError({ reason: "invalid-option", file, detail: `option "limit": expected a positive integer, got ${limit}` })
  }
  return limit
}

/** Splits into lines (LF or CRLF) with their 1-based numbers, skipping blank ones. */
export function* numberedLines(text: string): Generator<{ line: number; content: string }> {
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? ""
    const content = raw.endsWith("\r") ? raw.slice(0, -1) : raw
    if (content.trim() === "") continue
    yield { line: i + 1, content }
  }
}

export const requireRecords = <T>(file: string, records: T[]): T[] => {
  if (records.length === 0) throw new DatasetError({ reason: "empty", file, detail: "no records found (the file is empty or only blank lines)" })
  return records
}
