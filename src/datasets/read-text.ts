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

/**
 * Longest line (one record) a dataset file may hold, in UTF-8 bytes. Real records are at most a
 * few tens of KB (a reranking query with its passages); a longer line is a wrong or hostile file,
 * and would cost memory in JSON.parse and the tokenizer before anything noticed.
 */
export const MAX_RECORD_BYTES = 1024 * 1024

const utf8Length = (text: string): number => (text.length * 3 <= MAX_RECORD_BYTES ? text.length : Buffer.byteLength(text, "utf8"))

/** Splits into lines (LF or CRLF) with their 1-based numbers, skipping blank ones; a line over MAX_RECORD_BYTES is an error naming file:line. */
export function* numberedLines(text: string, file: string): Generator<{ line: number; content: string }> {
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? ""
    const content = raw.endsWith("\r") ? raw.slice(0, -1) : raw
    // Cheap bound first: a string of n UTF-16 units is at most 3n UTF-8 bytes.
    const bytes = utf8Length(content)
    if (bytes > MAX_RECORD_BYTES) {
      throw new DatasetError({
        reason: "record-too-large",
        file,
        line: i + 1,
        detail: `the line is ${bytes.toLocaleString("en-US")} bytes, over the ${MAX_RECORD_BYTES / 1024 / 1024} MiB limit for one record (expected one record per line)`,
      })
    }
    if (content.trim() === "") continue
    yield { line: i + 1, content }
  }
}

export const requireRecords = <T>(file: string, records: T[]): T[] => {
  if (records.length === 0) throw new DatasetError({ reason: "empty", file, detail: "no records found (the file is empty or only blank lines)" })
  return records
}
