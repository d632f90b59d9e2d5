// Remembers file digests by (path, dev, inode, size, mtime_ns, ctime_ns) so unchanged multi-GB
// inputs are not re-hashed on every run. "Racily clean" guard: a file whose mtime falls within
// RACY_WINDOW_NS of the moment hashing began may be rewritten later in the same timestamp tick
// with the same size, so its entry is not trusted and it is hashed again next time.
// The memo is a pure optimisation: an unreadable database is discarded and rebuilt, a read-only
// cache gets one in memory, and a query that fails mid-run falls back to hashing — each says so
// in `warning`, none fails a run.
import { Database } from "bun:sqlite"
import { accessSync, constants, rmSync, statSync } from "node:fs"
import { dirname } from "node:path"
import { sha256File } from "./file-digest.ts"

export const RACY_WINDOW_NS = 1_000_000_000n

export interface StatMemo {
  /** Digest of the file at `path`, from the memo when its stat is unchanged and not racy. */
  readonly digestOf: (path: string) => { readonly digest: string; readonly size: number; readonly memoHit: boolean }
  readonly close: () => void
  /** Set when the memo on disk could not be used as is (what happened, for the run's output). */
  readonly warning?: string
}

interface Row {
  dev: bigint
  ino: bigint
  size: bigint
  mtime_ns: bigint
  ctime_ns: bigint
  digest: string
  hashed_at_ns: bigint
}

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n

const writable = (dir: string): boolean => {
  try {
    accessSync(dir, constants.W_OK)
    return true
  } catch {
    return false
  }
}

/** Opens the memo at `file`; see the header for what happens when it cannot be used. */
export const openStatMemo = (file: string): StatMemo => {
  if (!writable(dirname(file))) {
    return { ...openDatabase(":memory:"), warning: `note: the stat memo ${file} is not writable (read-only cache?); inputs are hashed in full this run` }
  }
  try {
    return openDatabase(file)
  } catch (error) {
    const why = (error as Error).message ?? String(error)
    for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true })
    const warning = `warning: the stat memo ${file} was unreadable (${why}); it was discarded and rebuilt (it only saves re-hashing inputs)`
    try {
      return { ...openDatabase(file), warning }
    } catch {
      return { ...openDatabase(":memory:"), warning }
    }
  }
}

const openDatabase = (file: string): StatMemo => {
  const db = new Database(file, { create: true, safeIntegers: true })
  try {
    return memoOn(db)
  } catch (error) {
    db.close()
    throw error
  }
}

const memoOn = (db: Database): StatMemo => {
  // Wait for other runners' transactions (set first: switching to WAL itself needs the lock).
  db.exec("PRAGMA busy_timeout = 10000")
  db.exec("PRAGMA journal_mode = WAL")
  db.exec(`CREATE TABLE IF NOT EXISTS stat_memo_v1 (
    path TEXT PRIMARY KEY, dev INTEGER NOT NULL, ino INTEGER NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, digest TEXT NOT NULL, hashed_at_ns INTEGER NOT NULL)`)
  const select = db.query<Row, [string]>("SELECT dev, ino, size, mtime_ns, ctime_ns, digest, hashed_at_ns FROM stat_memo_v1 WHERE path = ?")
  const upsert = db.query(
    `INSERT INTO stat_memo_v1 (path, dev, ino, size, mtime_ns, ctime_ns, digest, hashed_at_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(path) DO UPDATE SET dev = excluded.dev, ino = excluded.ino, size = excluded.size, mtime_ns = excluded.mtime_ns,
       ctime_ns = excluded.ctime_ns, digest = excluded.digest, hashed_at_ns = excluded.hashed_at_ns`,
  )
  const remembered = (path: string): Row | null => {
    try {
      return select.get(path)
    } catch {
      return null // damaged after opening: hash instead
    }
  }
  const digestOf: StatMemo["digestOf"] = (path) => {
    const st = statSync(path, { bigint: true })
    const row = remembered(path)
    if (
      row !== null &&
      row.dev === st.dev &&
      row.ino === st.ino &&
      row.size === st.size &&
      row.mtime_ns === st.mtimeNs &&
      row.ctime_ns === st.ctimeNs &&
      st.mtimeNs + RACY_WINDOW_NS <= row.hashed_at_ns
    ) {
      return { digest: row.digest, size: Number(st.size), memoHit: true }
    }
    const startedNs = nowNs()
    const digest = sha256File(path)
    try {
      upsert.run(path, st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs, digest, startedNs)
    } catch {
      // not remembered; the digest is still right
    }
    return { digest, size: Number(st.size), memoHit: false }
  }
  return {
    digestOf,
    close: () => {
      try {
        db.close()
      } catch {
        // nothing to keep
      }
    },
  }
}
