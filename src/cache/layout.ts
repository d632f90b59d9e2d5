// Where things live under a cache root. Every table carries its version in its name so a format
// change orphans old data instead of misreading it.
import { homedir } from "node:os"
import { join } from "node:path"

export interface CacheLayout {
  readonly root: string
  /** Content-addressed blobs, read-only files named by sha256: cas.v1/ab/abcd… */
  readonly cas: string
  /** Action entries by action key: ac.v1/ab/<key>.json */
  readonly ac: string
  /** Materialised trees (hard links into cas): out.v1/<tree digest>/ */
  readonly out: string
  /** Temp dirs for running steps and commits; same filesystem as cas so renames are atomic. */
  readonly tmp: string
  readonly locks: string
  readonly quarantine: string
  /** One JSON file per run (keys and digests used), and registered lock files, for `cache gc`. */
  readonly runs: string
  readonly roots: string
  /** Run reports (HTML, Markdown, JSON) by run id; written after a run, outside the store. */
  readonly reports: string
  readonly memo: string
  /** Import closures of step modules with their files' digests, so a no-op run skips the bundler. */
  readonly code: string
}

export const cacheLayout = (root: string): CacheLayout => ({
  root,
  cas: join(root, "cas.v1"),
  ac: join(root, "ac.v1"),
  out: join(root, "out.v1"),
  tmp: join(root, "tmp"),
  locks: join(root, "locks"),
  quarantine: join(root, "quarantine"),
  runs: join(root, "runs.v1"),
  roots: join(root, "roots.v1"),
  reports: join(root, "reports.v1"),
  memo: join(root, "stat-memo.v1.sqlite"),
  code: join(root, "code.v1"),
})

export const shard = (dir: string, digest: string, suffix = ""): string => join(dir, digest.slice(0, 2), digest + suffix)

/** `--cache-dir` > `KILN_CACHE_DIR` > `~/.cache/kiln`. */
export const resolveCacheRoot = (flag: string | undefined, env: Record<string, string | undefined> = process.env): string =>
  flag ?? (env.KILN_CACHE_DIR !== undefined && env.KILN_CACHE_DIR !== "" ? env.KILN_CACHE_DIR : join(homedir(), ".cache", "kiln"))
