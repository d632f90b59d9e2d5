// One split of a Hub dataset (parquet files read with hyparquet, or JSON lines, plain or gzipped)
// turned into the JSON-lines file the loaders read, one record per row, in file order. The rows
// are checked by the loaders afterwards; `originOf` maps a line of the written file back to the
// source file and row, so a wrong column is reported where the user can look it up.
import { createReadStream } from "node:fs"
import { createWriteStream } from "node:fs"
import { createInterface } from "node:readline"
import { createGunzip } from "node:zlib"
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet"
import { DatasetError } from "./errors.ts"

export interface SplitOrigin {
  /** The source file, as the repo names it. */
  readonly file: string
  /** First line of the written file that came from it (1-based). */
  readonly firstLine: number
  readonly rows: number
}

const jsonSafe = (_key: string, value: unknown) => (typeof value === "bigint" ? Number(value) : value)

async function* rowsOf(path: string, name: string, limit: number): AsyncGenerator<string> {
  if (name.endsWith(".parquet")) {
    let rows: Record<string, unknown>[]
    try {
      const file = await asyncBufferFromFile(path)
      rows = await parquetReadObjects({ file, rowEnd: Number.isFinite(limit) ? limit : undefined })
    } catch (cause) {
      throw new DatasetError({ reason: "unreadable", file: name, detail: `not a readable parquet file (${(cause as Error).message})`, cause })
    }
    for (const row of rows) yield JSON.stringify(row, jsonSafe)
    return
  }
  if (name.endsWith(".jsonl") || name.endsWith(".jsonl.gz") || name.endsWith(".json") || name.endsWith(".json.gz")) {
    const raw = createReadStream(path)
    const lines = createInterface({ input: name.endsWith(".gz") ? raw.pipe(createGunzip()) : raw, crlfDelay: Infinity })
    let n = 0
    try {
      for await (const line of lines) {
        if (line.trim() === "") continue
        if (n++ >= limit) break
        yield line
      }
    } catch (cause) {
      throw new DatasetError({ reason: "unreadable", file: name, detail: `cannot read (${(cause as Error).message})`, cause })
    } finally {
      lines.close()
      raw.destroy()
    }
    return
  }
  throw new DatasetError({ reason: "invalid-option", file: name, detail: "expected a .parquet, .jsonl or .jsonl.gz file" })
}

/**
 * Writes the rows of `files` (repo path → file on disk, in read order) to `out` as JSON lines,
 * stopping after `limit` rows in all.
 */
export const writeSplitAsJsonLines = async (files: readonly (readonly [string, string])[], out: string, limit = Infinity): Promise<SplitOrigin[]> => {
  const origins: SplitOrigin[] = []
  const sink = createWriteStream(out)
  let line = 1
  try {
    for (const [name, path] of files) {
      if (line - 1 >= limit) break
      const firstLine = line
      for await (const row of rowsOf(path, name, limit - (line - 1))) {
        if (!sink.write(row + "\n")) await new Promise((resolve) => sink.once("drain", resolve))
        line++
      }
      origins.push({ file: name, firstLine, rows: line - firstLine })
    }
  } finally {
    await new Promise<void>((resolve, reject) => sink.end((e?: Error | null) => (e ? reject(e) : resolve())))
  }
  return origins
}

/** Re-states a loader's error about the written file in terms of the source file and its row. */
export const originOf = (error: DatasetError, origins: readonly SplitOrigin[]): DatasetError => {
  if (error.line === undefined) return error
  const origin = origins.find((o) => error.line! >= o.firstLine && error.line! < o.firstLine + o.rows)
  if (origin === undefined) return error
  const row = error.line - origin.firstLine + 1
  return new DatasetError({ reason: error.reason, file: origin.file, line: row, detail: `${origin.file.endsWith(".parquet") ? `row ${row}: ` : ""}${error.detail}`, cause: error })
}
