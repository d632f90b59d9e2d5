// `kiln cache status | verify | gc`: sizes, re-hashing with quarantine, and collection of what no
// lock file and no recent run references (a run's report goes with its run record). Maintenance
// runs while no pipeline writes the cache is the safe case; concurrent runs at worst re-run a step
// whose entry was collected.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { join } from "node:path"
import { z } from "zod"
import { JsonFileError, readJsonFile } from "../schema/index.ts"
import { actionEntryPath, lookupAction, readActionEntry } from "./action-cache.ts"
import { blobPath } from "./blobs.ts"
import type { CacheLayout } from "./layout.ts"
import { sha256File } from "./file-digest.ts"
import { removeUnheldLock } from "./key-lock.ts"
import { removeDeadRunTmp } from "./run-tmp.ts"
import { listShards } from "./shards.ts"
import { listFiles, materialisedIntact, readManifest } from "./tree.ts"
import { blobIntact } from "./verify.ts"

export const listBlobs = (layout: CacheLayout): string[] => listShards(layout.cas)
export const listActionKeys = (layout: CacheLayout): string[] => listShards(layout.ac, ".json")

const dirSize = (dir: string): number => {
  if (!existsSync(dir)) return 0
  let total = 0
  for (const name of readdirSync(dir)) {
    const st = statSync(join(dir, name))
    total += st.isDirectory() ? dirSize(join(dir, name)) : st.size
  }
  return total
}

export interface CacheStatus {
  readonly root: string
  readonly blobs: number
  readonly blobBytes: number
  readonly actions: number
  readonly materialised: number
  readonly quarantined: number
  readonly tempDirs: number
  /** Step outcomes summed over the run records gc still keeps: built here, local hits, remote hits. */
  readonly outcomes: { readonly runs: number; readonly ran: number; readonly cached: number; readonly remote: number }
}

/** runs.v1 records' step counts (records written before counts were kept add nothing). */
const RunCounts = z.looseObject({ counts: z.object({ ran: z.number(), cached: z.number(), remote: z.number() }).optional() })

const runOutcomes = (layout: CacheLayout): CacheStatus["outcomes"] => {
  const total = { runs: 0, ran: 0, cached: 0, remote: 0 }
  if (!existsSync(layout.runs)) return total
  for (const name of readdirSync(layout.runs)) {
    try {
      const counts = RunCounts.safeParse(JSON.parse(readFileSync(join(layout.runs, name), "utf8"))).data?.counts
      if (counts === undefined) continue
      total.runs++
      total.ran += counts.ran
      total.cached += counts.cached
      total.remote += counts.remote
    } catch {
      // an unreadable record is gc's to report; status just leaves it out
    }
  }
  return total
}

export const cacheStatus = (layout: CacheLayout): CacheStatus => ({
  root: layout.root,
  blobs: listBlobs(layout).length,
  blobBytes: dirSize(layout.cas),
  actions: listActionKeys(layout).length,
  materialised: existsSync(layout.out) ? readdirSync(layout.out).length : 0,
  quarantined: existsSync(layout.quarantine) ? readdirSync(layout.quarantine).length : 0,
  tempDirs: existsSync(layout.tmp) ? readdirSync(layout.tmp).length : 0,
  outcomes: runOutcomes(layout),
})

export interface VerifyReport {
  readonly checked: number
  readonly corrupt: readonly string[]
  readonly droppedActions: readonly string[]
  /** Files under out.v1 (as "<tree>/<path>") that were no longer their blob and held other bytes. */
  readonly corruptCopies: readonly string[]
}

/**
 * Files of a materialised folder that are not hard links to their blob and whose bytes differ
 * from what the manifest says (links to the blob are checked by re-hashing the blob itself).
 */
const corruptCopiesIn = (layout: CacheLayout, tree: string): string[] => {
  const manifest = readManifest(layout, tree)
  const dir = join(layout.out, tree)
  if (manifest === undefined) return []
  const byPath = new Map(manifest.entries.map((e) => [e.path, e]))
  const bad: string[] = []
  for (const file of listFiles(dir)) {
    const entry = byPath.get(file.rel)
    const blob = entry !== undefined && existsSync(blobPath(layout, entry.digest)) ? statSync(blobPath(layout, entry.digest)) : undefined
    const copy = statSync(file.abs)
    if (blob !== undefined && blob.ino === copy.ino && blob.dev === copy.dev) continue
    if (entry === undefined || sha256File(file.abs) !== entry.digest) bad.push(`${tree}/${file.rel}`)
  }
  return bad
}

/**
 * Re-hashes every blob; corrupt ones go to quarantine, and entries or folders using them are
 * dropped. Then checks every materialised folder: one that no longer links its blobs exactly is
 * removed (re-materialised on next use), and copies in it holding other bytes are reported.
 */
export const verifyCache = (layout: CacheLayout): VerifyReport => {
  const corrupt: string[] = []
  const blobs = listBlobs(layout)
  for (const digest of blobs) if (!blobIntact(layout, digest)) corrupt.push(digest)
  const dropped: string[] = []
  for (const key of listActionKeys(layout)) {
    if (lookupAction(layout, key) === undefined) {
      rmSync(actionEntryPath(layout, key), { force: true })
      dropped.push(key)
    }
  }
  const corruptCopies: string[] = []
  if (existsSync(layout.out)) {
    for (const tree of readdirSync(layout.out)) {
      const manifest = readManifest(layout, tree)
      if (manifest !== undefined && materialisedIntact(layout, join(layout.out, tree), manifest)) continue
      corruptCopies.push(...corruptCopiesIn(layout, tree))
      rmSync(join(layout.out, tree), { recursive: true, force: true })
    }
  }
  return { checked: blobs.length, corrupt, droppedActions: dropped, corruptCopies }
}

export interface GcReport {
  readonly keptActions: number
  readonly removedActions: number
  readonly removedBlobs: number
  readonly freedBytes: number
  /** Temp folders of runs no longer alive (killed, or crashed before cleaning up). */
  readonly removedTempDirs: number
  /** Key lock files no process held. */
  readonly removedLocks: number
  /** Lock files and run records gc could not read (file, field, what was expected): they protected nothing. */
  readonly unreadable: readonly string[]
}

/** roots.v1/<sha>.json: a lock file whose keys gc keeps (written by the run CLI). */
const RootRecord = z.object({ lockFile: z.string().min(1) })
/** The part of a lock file gc reads: every node's key, and a host-bound node's key per host class. */
const LockKeys = z.object({
  nodes: z.record(z.string(), z.looseObject({ key: z.string().optional(), hosts: z.record(z.string(), z.looseObject({ key: z.string() })).optional() })),
})
/** runs.v1/<time>-<pid>.json: the keys a run used. */
const RunRecord = z.looseObject({ keys: z.array(z.string()) })

/** Keeps what a registered lock file or a run within `days` references; removes the rest. */
export const collectGarbage = (layout: CacheLayout, days: number, now = Date.now()): GcReport => {
  const liveKeys = new Set<string>()
  const cutoff = now - days * 86_400_000
  const unreadable: string[] = []
  /** `path` read through `schema`, or undefined (noted in the report) when it cannot be. */
  const read = <S extends z.ZodType>(path: string, schema: S, what: string): z.output<S> | undefined => {
    try {
      return readJsonFile(path, schema, what)
    } catch (error) {
      if (!(error instanceof JsonFileError)) throw error
      unreadable.push(error.message)
      return undefined
    }
  }
  if (existsSync(layout.roots)) {
    for (const name of readdirSync(layout.roots)) {
      const root = read(join(layout.roots, name), RootRecord, "a lock-file root record")
      if (root === undefined) continue
      if (!existsSync(root.lockFile)) {
        rmSync(join(layout.roots, name), { force: true })
        continue
      }
      const lock = read(root.lockFile, LockKeys, "the lock file")
      for (const node of Object.values(lock?.nodes ?? {})) {
        // Host-bound nodes keep a key per host class.
        for (const key of [node.key, ...Object.values(node.hosts ?? {}).map((h) => h.key)]) if (key !== undefined) liveKeys.add(key)
      }
    }
  }
  if (existsSync(layout.runs)) {
    for (const name of readdirSync(layout.runs)) {
      const path = join(layout.runs, name)
      if (statSync(path).mtimeMs < cutoff) {
        rmSync(path, { force: true })
        continue
      }
      for (const key of read(path, RunRecord, "a run record")?.keys ?? []) liveKeys.add(key)
    }
  }
  // A run's report goes with its run record; a comparison once it is as old as a record gc drops.
  if (existsSync(layout.reports)) {
    for (const name of readdirSync(layout.reports)) {
      const path = join(layout.reports, name)
      const gone = name.startsWith("compare-") ? statSync(path).mtimeMs < cutoff : !existsSync(join(layout.runs, `${name}.json`))
      if (gone) rmSync(path, { recursive: true, force: true })
    }
  }
  const liveBlobs = new Set<string>()
  let removedActions = 0
  let keptActions = 0
  for (const key of listActionKeys(layout)) {
    const entry = readActionEntry(layout, key)
    if (entry === undefined || !liveKeys.has(key)) {
      rmSync(actionEntryPath(layout, key), { force: true })
      removedActions++
      continue
    }
    keptActions++
    liveBlobs.add(entry.output)
    if (entry.log !== null) liveBlobs.add(entry.log)
    for (const e of readManifest(layout, entry.output)?.entries ?? []) liveBlobs.add(e.digest)
  }
  let removedBlobs = 0
  let freedBytes = 0
  for (const digest of listBlobs(layout)) {
    if (liveBlobs.has(digest)) continue
    const path = blobPath(layout, digest)
    freedBytes += statSync(path).size
    rmSync(path, { force: true })
    removedBlobs++
  }
  if (existsSync(layout.out)) {
    for (const tree of readdirSync(layout.out)) if (!liveBlobs.has(tree)) rmSync(join(layout.out, tree), { recursive: true, force: true })
  }
  // A run's temp folder is stale as soon as its run's lock can be taken (see run-tmp.ts). Anything
  // else in tmp/ has no owner to ask: it goes once it is a day old.
  let removedTempDirs = removeDeadRunTmp(layout.tmp)
  if (existsSync(layout.tmp)) {
    for (const name of readdirSync(layout.tmp)) {
      if (/^run-\d+-[0-9a-z]+(\.lock)?$/.test(name)) continue
      const path = join(layout.tmp, name)
      if (statSync(path).mtimeMs < now - 86_400_000) {
        rmSync(path, { recursive: true, force: true })
        removedTempDirs++
      }
    }
  }
  // A key lock file is only needed while someone holds it; a held one is never touched.
  let removedLocks = 0
  if (existsSync(layout.locks)) {
    for (const name of readdirSync(layout.locks)) if (name.endsWith(".lock") && removeUnheldLock(join(layout.locks, name))) removedLocks++
  }
  return { keptActions, removedActions, removedBlobs, freedBytes, removedTempDirs, removedLocks, unreadable }
}
