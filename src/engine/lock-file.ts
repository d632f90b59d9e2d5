// The lock file beside a pipeline file: every node's key, output digests and fingerprint, in
// stable order and without timestamps, so it diffs cleanly in review and `--frozen` can hold CI
// to it.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
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

/** Why a file could not be written, in words, from the error's code. */
const writeFailure = (error: unknown): string => {
  const code = (error as { code?: unknown })?.code
  if (code === "EROFS") return "read-only file system"
  if (code === "EACCES" || code === "EPERM") return "permission denied"
  if (code === "ENOENT") return "its folder does not exist"
  if (code === "ENOSPC" || code === "EDQUOT") return "no space left on device"
  return String((error as { message?: unknown })?.message ?? error)
}

/**
 * Writes the lock file through a temp file and a rename, so a reader never sees half of it.
 * Returns why it could not be written (and leaves no temp file), or undefined when it was.
 */
export const writeLockFile = (path: string, lock: LockFile): string | undefined => {
  const temp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`
  try {
    writeFileSync(temp, renderLockFile(lock))
    renameSync(temp, path)
    return undefined
  } catch (error) {
    try {
      rmSync(temp, { force: true })
    } catch {
      // nothing was created (a read-only filesystem refuses even the removal)
    }
    return `cannot write the lock file ${path}: ${writeFailure(error)}`
  }
}

export const emptyLock = (pipeline: string): LockFile => ({ pipeline, cacheSchema: CACHE_SCHEMA_VERSION, nodes: {} })
