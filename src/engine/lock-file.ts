// The lock file beside a pipeline file, in stable order and without timestamps, so it diffs
// cleanly in review and `--frozen` can hold CI to it. Per node, by its reproducibility
// (reproducibility.ts):
//   every node   — step, version, `reproducible`, `basis` (what it computes: step, version, params,
//                  inputs — the same on every machine) and `code` (digest of its code digest)
//   portable     — `key`, `fingerprint` and `outputs`: the bytes every machine must produce
//   host         — `hosts`: per host class, the key, fingerprint and outputs seen there; a run on
//                  another host class adds its own entry, and entries of other classes are kept
//                  while the node's basis and code are unchanged
//   measurement  — nothing more: the lock records that it ran, never its numbers
//
// `--frozen` (frozen.ts) fails a node BEFORE it runs when its basis, its class, or — portable
// nodes — its fingerprint differs from the lock. When only its code digest differs it runs, and
// its output must still equal the locked output byte for byte (a refactor that changes no output
// passes; one that does must regenerate the lock). After running, portable outputs and host
// outputs of a known host class must equal the lock; on an unknown host class only the basis was
// checked, and the run says so. To regenerate after a legitimate change: run the pipeline without
// --frozen and commit the updated lock file.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { z } from "zod"
import { CACHE_SCHEMA_VERSION } from "./action-key.ts"
import { readJsonFile } from "../schema/index.ts"
import { PipelineDefinitionError } from "./errors.ts"
import type { Identity } from "./reproducibility.ts"

const Strings = z.record(z.string(), z.string())
export const HostEntry = z.object({ key: z.string(), fingerprint: Strings, outputs: Strings })
export const LockedNode = z.object({
  step: z.string(),
  version: z.number(),
  reproducible: z.enum(["portable", "host", "measurement"]).default("portable"),
  basis: z.string().optional(),
  code: z.string().optional(),
  key: z.string().optional(),
  fingerprint: Strings.optional(),
  outputs: Strings.optional(),
  hosts: z.record(z.string(), HostEntry).optional(),
})
export const LockFile = z.object({
  pipeline: z.string(),
  cacheSchema: z.number(),
  nodes: z.record(z.string(), LockedNode),
})
export type LockFile = z.infer<typeof LockFile>
export type LockedNode = z.infer<typeof LockedNode>
export type HostEntry = z.infer<typeof HostEntry>

/** The key the lock recorded for a node on this host class, if any. */
export const lockedKey = (entry: LockedNode, identity: Identity): string | undefined =>
  identity.reproducible === "host" ? entry.hosts?.[identity.hostClass ?? ""]?.key : entry.key

/** A node's lock entry, from what this run resolved. */
export const lockEntry = (step: string, version: number, r: { readonly key: string; readonly identity: Identity; readonly output: string; readonly keyInputs: { readonly fingerprint: Readonly<Record<string, string>> } }): LockedNode => {
  const base = { step, version, reproducible: r.identity.reproducible, basis: r.identity.basis, code: r.identity.code }
  const fingerprint = { ...r.keyInputs.fingerprint }
  if (r.identity.reproducible === "portable") return { ...base, key: r.key, fingerprint, outputs: { out: r.output } }
  if (r.identity.reproducible === "host") return { ...base, hosts: { [r.identity.hostClass ?? ""]: { key: r.key, fingerprint, outputs: { out: r.output } } } }
  return base
}

/**
 * The lock after a run: this run's entries over the previous ones (all nodes, or — with
 * `--until` — the ones that resolved), keeping other host classes' entries of a host-bound node
 * while its basis and code are unchanged.
 */
export const mergeLock = (previous: LockFile | undefined, pipeline: string, now: LockFile["nodes"], partial: boolean): LockFile => {
  const before = previous?.nodes ?? {}
  const nodes: LockFile["nodes"] = partial ? { ...before } : {}
  for (const [id, entry] of Object.entries(now)) {
    const old = before[id]
    const keepHosts = entry.hosts !== undefined && old?.hosts !== undefined && old.basis === entry.basis && old.code === entry.code
    nodes[id] = keepHosts ? { ...entry, hosts: { ...old.hosts, ...entry.hosts } } : entry
  }
  return { pipeline, cacheSchema: CACHE_SCHEMA_VERSION, nodes }
}

/** `<file>.lock.json` beside the pipeline file, or `<file>.<variant>.lock.json` for a variant of it (Pipeline.variant). */
export const lockFilePath = (pipelineFile: string, variant?: string): string => pipelineFile.replace(/\.[cm]?[jt]s$/, "") + (variant !== undefined ? `.${variant}` : "") + ".lock.json"

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
  return readJsonFile(path, LockFile, "the lock file", (error) =>
    new PipelineDefinitionError({ message: error.message, hint: "delete the lock file and run again to regenerate it" }),
  )
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
