// Generic JSON-lines decoding: one JSON value per line, each checked by a decoder, with every
// failure reported as file:line and what was expected.

import { DatasetError } from "./errors.ts"
import { numberedLines, readDatasetText, recordLimit, requireRecords, type LoadOptions } from "./read-text.ts"

/** A line's verdict: a record, a reason it is invalid, or "skip" (a record the caller chose to drop). */
export type LineDecoding<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly detail: string } | "skip"

export type LineDecoder<T> = (value: unknown) => LineDecoding<T>

/** Decodes JSON-lines text; `file` is only used to name the source in errors. */
export const parseJsonLines = <T>(text: string, file: string, decode: LineDecoder<T>, options?: LoadOptions): T[] => {
  const limit = recordLimit(file, options)
  const records: T[] = []
  for (const { line, content } of numberedLines(text, file)) {
    if (records.length >= limit) break
    let value: unknown
    try {
      value = JSON.parse(content)
    } catch (cause) {
      const why = cause instanceof Error ? cause.message : String(cause)
      throw new DatasetError({ reason: "invalid-json", file, line, detail: `invalid JSON (${why}), expected one JSON object per line`, cause })
    }
    const decoded = decode(value)
    if (decoded === "skip") continue
    if (!decoded.ok) throw new DatasetError({ reason: "invalid-record", file, line, detail: decoded.detail })
    records.push(decoded.value)
  }
  return requireRecords(file, records)
}

export const loadJsonLines = async <T>(file: string, decode: LineDecoder<T>, options?: LoadOptions): Promise<T[]> =>
  parseJsonLines(await readDatasetText(file), file, decode, options)
