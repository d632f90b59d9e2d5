// Each run keeps its temp files (step work dirs, materialisation staging, blob writes) in a folder
// of its own under tmp/, run-<pid>-<random>/, beside a lock file it flocks for as long as it runs.
// When the run ends — finished, failed or interrupted — the folder goes; if the process was
// killed, the kernel drops the lock and `cache gc` can tell the folder is stale at once, however
// young (a live run's lock cannot be taken). Library code that outlives an interrupt and writes
// into a removed folder recreates it; the CLI sweeps released folders again right before exiting.
import { mkdirSync, readdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { removeUnheldLock, tryLockFile } from "./key-lock.ts"
import type { CacheLayout } from "./layout.ts"

const AREA = /^run-\d+-[0-9a-z]+$/
const released = new Set<string>()

/** A run's temp folder under `layout.tmp`, removed (and its lock released) when the scope closes. */
export const acquireRunTmp = (layout: CacheLayout) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        mkdirSync(layout.tmp, { recursive: true })
        const name = `run-${process.pid}-${Math.random().toString(36).slice(2, 10)}`
        const lockPath = join(layout.tmp, `${name}.lock`)
        const lock = tryLockFile(lockPath)
        if (lock === undefined) throw new Error(`${lockPath} is locked by another process`)
        const dir = join(layout.tmp, name)
        mkdirSync(dir)
        return { dir, lockPath, lock }
      },
      catch: (e) => e as Error,
    }),
    (area) =>
      Effect.sync(() => {
        released.add(area.dir)
        try {
          removeTree(area.dir)
          rmSync(area.lockPath, { force: true })
        } catch {
          // Still being written by abandoned library code: the exit sweep or `cache gc` finishes it.
        } finally {
          area.lock.release()
        }
      }),
  )

/** rm -r that retries while something keeps creating files inside (ENOTEMPTY). */
const removeTree = (dir: string): void => {
  for (let attempt = 0; ; attempt++) {
    try {
      rmSync(dir, { recursive: true, force: true })
      return
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOTEMPTY" || attempt >= 20) throw e
    }
  }
}

/** Removes released run folders again (see the header); synchronous, so nothing runs in between. */
export const sweepReleasedRunTmp = (): void => {
  for (const dir of released) {
    try {
      removeTree(dir)
      rmSync(`${dir}.lock`, { force: true })
    } catch {
      // best effort on the way out
    }
  }
}

/**
 * Removes the temp folders of runs that are no longer alive (their lock could be taken) and
 * returns how many. Folders of live runs are kept.
 */
export const removeDeadRunTmp = (tmp: string): number => {
  let removed = 0
  let names: string[]
  try {
    names = readdirSync(tmp)
  } catch {
    return 0
  }
  for (const name of names) {
    if (!AREA.test(name)) continue
    const lockPath = join(tmp, `${name}.lock`)
    // No lock file at all: its run is gone (a live run creates the lock before the folder).
    const lock = names.includes(`${name}.lock`) ? tryLockFile(lockPath) : undefined
    if (names.includes(`${name}.lock`) && lock === undefined) continue
    try {
      rmSync(join(tmp, name), { recursive: true, force: true })
      removed++
    } finally {
      if (lock !== undefined) {
        rmSync(lockPath, { force: true })
        lock.release()
      }
    }
  }
  // Lock files whose folder is already gone.
  for (const name of names) if (name.endsWith(".lock") && AREA.test(name.slice(0, -5)) && !names.includes(name.slice(0, -5))) removeUnheldLock(join(tmp, name))
  return removed
}
