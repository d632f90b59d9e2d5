// The lock file beside a pipeline file: every node's key, output digests and fingerprint, in
// stable order and without timestamps, so it diffs cleanly in review and `--frozen` can hold CI
// to it.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { z } from "zod"
import { CACHE_SCHEMA_VERSION } from "./action-key.ts"
import { PipelineDefinitionError } from "./errors.ts"

export const LockedNode = z.object({
  step: z.string(),
  version: z.number(),
  key: z.string(),
  fingerprint: z.record(z.string(), z.string()),
  outputs: z.record(z.string(), z.string()),
})
export const LockFile = z.object({
  pipeline: z.string(),
  cacheSchema: z.number(),
  nodes: z.record(z.string(), LockedNode),
})
export type LockFile = z.infer<typeof LockFile>
export type LockedNode = z.infer<typeof LockedNode>

export const lockFilePath = (pipelineFile: string): string => pipelineFile.replace(/\.[cm]?[jt]s$/, "") + ".lock.json"

const sortDeep = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(sortDeep)
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, sortDeep(v)]))
  }
  return value
}

export const renderLockFile = (lock: LockFile): string => JSON.stringify(sortDeep(lock), null, 2) + "\n"

export const readLockFile = (path: string): LockFile | undefined => {
  if (!existsSync(path)) return undefined
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, "utf8"))
  } catch (e) {
    throw new PipelineDefinitionError({ message: `${path}: not valid JSON (${(e as Error).message})`, hint: "delete the lock file and run again to regenerate it" })
  }
  const parsed = LockFile.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new PipelineDefinitionError({ message: `${path}: field ${issue?.path.join(".") ?? "?"}: ${issue?.message ?? "invalid"}`, hint: "delete the lock file and run again to regenerate it" })
  }
  return parsed.data
}

export const writeLockFile = (path: string, lock: LockFile): void => {
  const temp = `${path}.tmp-${process.pid}`
  writeFileSync(temp, renderLockFile(lock))
  renameSync(temp, path)
}

export const emptyLock = (pipeline: string): LockFile => ({ pipeline, cacheSchema: CACHE_SCHEMA_VERSION, nodes: {} })
