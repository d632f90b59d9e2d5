// `kiln report <lock file | run>`: which run record a user means. A lock file stands for its
// latest recorded run in this cache (the CLI records the lock file's absolute path with every
// run, so the lock file is what finds its runs' reports); a run is its id (runs.v1/<id>.json) or
// that file's path. Anything else is an error naming what was looked for and where.
import { existsSync, readFileSync, statSync } from "node:fs"
import { basename, resolve } from "node:path"
import type { CacheLayout } from "../cache/layout.ts"
import { listRunIds, readRunRecord, runIdOf, runRecordPath, type RunRecord } from "../cache/run-records.ts"
import { JsonFileError } from "../schema/index.ts"
import { ReportError } from "./errors.ts"

export interface FoundRun {
  readonly id: string
  readonly record: RunRecord
}

const read = (path: string): RunRecord => {
  try {
    return readRunRecord(path)
  } catch (e) {
    if (e instanceof JsonFileError) throw new ReportError({ message: e.message, hint: "the run record is damaged; pick another run (or run the pipeline again)" })
    throw e
  }
}

const looksLikeLock = (path: string): boolean => {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>
    return typeof parsed === "object" && parsed !== null && "nodes" in parsed && "cacheSchema" in parsed
  } catch {
    return false
  }
}

const readable = (layout: CacheLayout): FoundRun[] =>
  listRunIds(layout).flatMap((id) => {
    try {
      return [{ id, record: readRunRecord(runRecordPath(layout, id)) }]
    } catch {
      return []
    }
  })

/**
 * The runs of `lockFile` recorded in this cache, oldest first: those of this very file, else —
 * a checkout elsewhere sharing the cache — those of a lock file of the same name and pipeline.
 */
export const runsOfLock = (layout: CacheLayout, lockFile: string): FoundRun[] => {
  const all = readable(layout)
  const exact = all.filter((r) => r.record.lockFile === lockFile)
  if (exact.length > 0) return exact
  let pipeline: string | undefined
  try {
    pipeline = (JSON.parse(readFileSync(lockFile, "utf8")) as { pipeline?: string }).pipeline
  } catch {
    return []
  }
  return all.filter((r) => basename(r.record.lockFile) === basename(lockFile) && r.record.pipeline === pipeline)
}

/** `arg` as a lock file, or undefined when it is not one. */
export const asLockFile = (arg: string): string | undefined => {
  const path = resolve(arg)
  return existsSync(path) && statSync(path).isFile() && looksLikeLock(path) ? path : undefined
}

/** The run `arg` names: a lock file (its latest run), a run record file, or a run id. */
export const findRun = (layout: CacheLayout, arg: string): FoundRun => {
  const path = resolve(arg)
  if (existsSync(path) && statSync(path).isFile()) {
    if (looksLikeLock(path)) {
      const runs = runsOfLock(layout, path)
      if (runs.length === 0) {
        throw new ReportError({
          message: `no run of the lock file ${path} is recorded in the cache ${layout.root}`,
          hint: "run its pipeline (the .ts file beside it, with the flags that chose this lock file) with this cache first, or pass --cache-dir to the cache it ran with",
        })
      }
      return runs[runs.length - 1]!
    }
    return { id: runIdOf(path), record: read(path) }
  }
  if (/^[0-9]+-[0-9]+$/.test(arg) && existsSync(runRecordPath(layout, arg))) return { id: arg, record: read(runRecordPath(layout, arg)) }
  const recent = listRunIds(layout).slice(-3)
  throw new ReportError({
    message: `"${arg}" is neither a lock file nor a run: no file ${path}, and no run ${arg} in the cache ${layout.root}`,
    hint: `pass a pipeline's lock file (e.g. examples/quickstart.lock.json) or a run id${recent.length > 0 ? ` (latest here: ${recent.join(", ")})` : " (this cache has recorded no runs)"}`,
  })
}
