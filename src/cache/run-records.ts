// runs.v1/<id>.json: what one pipeline run did, written by the run CLI after every real run (also a
// failed one). gc keeps the keys a recent run used; `kiln cache status` sums its counts; run reports
// (src/report) read its steps — status, duration, where each ran, the output tree, a failure's
// log tail. Timings live here, never in an artifact: a run record is outside the content-addressed
// store. `<id>` is `<ms since epoch>-<pid>`, so names sort by time.
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs"
import { basename, join } from "node:path"
import { z } from "zod"
import { readJsonFile } from "../schema/index.ts"
import type { CacheLayout } from "./layout.ts"

export const RunStep = z.object({
  id: z.string(),
  step: z.string(),
  status: z.enum(["ran", "cached", "remote", "failed", "skipped"]),
  key: z.string(),
  /** How long the step ran (0 when served from a cache). */
  ms: z.number(),
  /** When the node started and finished, ms after the run started (absent for nodes never started). */
  startMs: z.number().optional(),
  endMs: z.number().optional(),
  /** Output tree digest (absent when the node failed or was skipped). */
  output: z.string().optional(),
  runsOn: z.string().optional(),
  /** The worker that ran it, when an executor ran it elsewhere (--executor). */
  host: z.string().optional(),
  reason: z.string().optional(),
  error: z.object({ message: z.string(), hint: z.string().optional(), logPath: z.string().optional(), logTail: z.array(z.string()).optional() }).optional(),
})
export type RunStep = z.infer<typeof RunStep>

export const RunRecord = z.looseObject({
  pipeline: z.string(),
  /** Absolute path of the pipeline's lock file: how `kiln report <lock file>` finds its runs. */
  lockFile: z.string(),
  keys: z.array(z.string()),
  trees: z.array(z.string()),
  counts: z.object({ ran: z.number(), cached: z.number(), remote: z.number() }).optional(),
  ok: z.boolean().optional(),
  /** The pipeline file and the flags it ran with (how to run it again: `bun run <command…>`). */
  command: z.array(z.string()).optional(),
  startedAt: z.string().optional(),
  steps: z.array(RunStep).optional(),
  /** What the pipeline asked its report to show (rows, published figures); opaque to the cache. */
  report: z.unknown().optional(),
})
export type RunRecord = z.infer<typeof RunRecord>

export const runRecordPath = (layout: CacheLayout, id: string): string => join(layout.runs, `${id}.json`)
export const runIdOf = (path: string): string => basename(path).replace(/\.json$/, "")

/** Writes a run record (temp file + rename) and returns its id. */
export const writeRunRecord = (layout: CacheLayout, record: RunRecord, now = Date.now()): string => {
  mkdirSync(layout.runs, { recursive: true })
  const id = `${now}-${process.pid}`
  const path = runRecordPath(layout, id)
  writeFileSync(`${path}.tmp`, JSON.stringify(record) + "\n")
  renameSync(`${path}.tmp`, path)
  return id
}

export const readRunRecord = (path: string): RunRecord => readJsonFile(path, RunRecord, "the run record")

/** Run ids, oldest first. */
export const listRunIds = (layout: CacheLayout): string[] =>
  existsSync(layout.runs)
    ? readdirSync(layout.runs)
        .filter((n) => n.endsWith(".json"))
        .map(runIdOf)
        .sort((a, b) => Number(a.split("-")[0]) - Number(b.split("-")[0]) || (a < b ? -1 : 1))
    : []
