// Cross-process locks, one per action key, so two runners of the same pipeline run each step
// once: the second waits, then finds the committed entry. flock(2) is used because the kernel
// drops the lock when its holder dies (kill -9), so there is never a stale lock to break.
// `cache gc` removes lock files nobody holds (removeUnheldLock); a holder re-checks after locking
// that its path still names the file it locked, so a removal cannot let two holders in.
import { dlopen, FFIType, suffix } from "bun:ffi"
import { closeSync, fstatSync, mkdirSync, openSync, rmSync, statSync } from "node:fs"
import { join } from "node:path"
import * as Effect from "effect/Effect"

const LOCK_EX = 2
const LOCK_NB = 4
const LOCK_UN = 8

const libcName = process.platform === "darwin" ? `libc.${suffix}` : "libc.so.6"
const libc = dlopen(libcName, { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } })

export interface HeldLock {
  readonly release: () => void
}

/** Whether `path` still names the open file `fd` (gc may have removed it and another made a new one). */
const stillNamed = (fd: number, path: string): boolean => {
  try {
    const open = fstatSync(fd)
    const named = statSync(path)
    return open.ino === named.ino && open.dev === named.dev
  } catch {
    return false
  }
}

/** Tries once; undefined when another process (or this one) holds the lock. */
export const tryLockFile = (path: string): HeldLock | undefined => {
  for (;;) {
    const fd = openSync(path, "a")
    if (libc.symbols.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
      closeSync(fd)
      return undefined
    }
    // Locked a file that was removed meanwhile: lock the one the path names now instead.
    if (stillNamed(fd, path)) return heldLock(fd)
    libc.symbols.flock(fd, LOCK_UN)
    closeSync(fd)
  }
}

const heldLock = (fd: number): HeldLock => {
  let released = false
  return {
    release: () => {
      if (released) return
      released = true
      libc.symbols.flock(fd, LOCK_UN)
      closeSync(fd)
    },
  }
}

// flock locks belong to open file descriptions, so two fibers of one process would both succeed;
// this set makes the lock exclusive within the process too.
const heldHere = new Set<string>()

/**
 * Acquires the lock for `key` in `dir`, polling while another holder has it; released when the
 * scope closes (also on interruption). `onWait` is called once if we have to wait.
 */
export const acquireKeyLock = (dir: string, key: string, onWait?: () => void) =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      mkdirSync(dir, { recursive: true })
      const path = join(dir, `${key}.lock`)
      let waited = false
      for (;;) {
        if (!heldHere.has(path)) {
          const lock = tryLockFile(path)
          if (lock !== undefined) {
            heldHere.add(path)
            return {
              release: () => {
                heldHere.delete(path)
                lock.release()
              },
            } satisfies HeldLock
          }
        }
        if (!waited) {
          waited = true
          onWait?.()
        }
        yield* Effect.sleep("50 millis")
      }
    }),
    (lock) => Effect.sync(() => lock.release()),
  )

/**
 * Removes a lock file when no process holds it (taken, unlinked while held, released); a held one
 * is kept. Returns whether it was removed.
 */
export const removeUnheldLock = (path: string): boolean => {
  const lock = tryLockFile(path)
  if (lock === undefined) return false
  try {
    rmSync(path, { force: true })
  } finally {
    lock.release()
  }
  return true
}
