// The remote tier under the local cache. On a local miss the runtime asks `pull`: fetch the signed
// action entry, check its signature, download every blob it names (tree manifest, files, log) —
// each verified by content — then write the entry locally, last, through the cache's atomic path.
// After a step ran, `push` uploads its blobs first and its signed entry last, so a remote entry
// never names a blob the remote lacks. Neither ever fails a run: a remote problem is a warning and
// the step is built locally.
import { existsSync, statSync } from "node:fs"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import { type ActionEntry, lookupAction, writeActionEntry } from "../cache/action-cache.ts"
import { blobPath } from "../cache/blobs.ts"
import type { CacheLayout } from "../cache/layout.ts"
import { readManifest } from "../cache/tree.ts"
import { downloadBlob } from "./download.ts"
import { openSignedEntry, signEntry } from "./signing.ts"
import { type Store, StoreError } from "./store.ts"

export interface RemoteTier {
  readonly store: Store
  /** KILN_CACHE_SIGNING_KEY: entries are signed with it on upload and checked with it on download. */
  readonly signingKey: string
  /** Upload entries of steps that ran (off for `--remote-read-only`, e.g. pull-request jobs). */
  readonly upload: boolean
}

export class RemoteCache extends Context.Service<RemoteCache, RemoteTier>()("kiln/RemoteCache") {}

type Warn = (line: string) => Effect.Effect<void>

/**
 * Blobs in flight at once per tree. Trees are many small files or one large one; one at a time, a
 * tree of small blobs costs a round trip and an fsync each in sequence (the quickstart's 185 blobs,
 * 1.5 MiB: 3 MiB/s sequential vs curl's 16 MiB/s on loopback nginx, bench/remote-cache.ts).
 */
export const PARALLEL_TRANSFERS = 8

const sizeOf = (path: string): number | undefined => (existsSync(path) ? statSync(path).size : undefined)

/**
 * Makes `key` a local hit from the remote tier when the remote holds a correctly signed entry and
 * every blob it names. Returns the local entry, or undefined (a miss; `warn` says why when the
 * remote misbehaved).
 */
export const pullAction = (layout: CacheLayout, tier: RemoteTier, key: string, warn: Warn): Effect.Effect<ActionEntry | undefined, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const bytes = yield* tier.store.getAction(key)
    if (bytes === undefined) return undefined
    const opened = openSignedEntry(tier.signingKey, key, bytes)
    if ("rejected" in opened) {
      yield* warn(`remote cache: ignoring the entry for ${key.slice(0, 12)}… from ${tier.store.describe}: ${opened.rejected}`)
      return undefined
    }
    const entry = opened.entry
    const tree = yield* fetchTree(layout, tier, entry.output)
    if (tree === "not-a-tree") {
      yield* warn(`remote cache: the entry for ${key.slice(0, 12)}… names ${entry.output}, which is not a tree manifest; building locally`)
      return undefined
    }
    if (tree !== "stored") return yield* missingBlob(warn, tier, key, tree.missing)
    if (entry.log !== null && !(yield* fetchBlob(layout, tier, entry.log))) return yield* missingBlob(warn, tier, key, entry.log)
    yield* writeActionEntry(layout, entry)
    return lookupAction(layout, key)
  }).pipe(
    Effect.catch((error) => Effect.as(warn(`remote cache: ${error.message}; building locally`), undefined)),
  )

/** Brings one blob into the local cache unless it is there (at `size`, when known); false when the remote lacks it. */
const fetchBlob = (layout: CacheLayout, tier: RemoteTier, digest: string, size?: number) =>
  Effect.gen(function* () {
    if (size !== undefined ? sizeOf(blobPath(layout, digest)) === size : existsSync(blobPath(layout, digest))) return true
    return (yield* downloadBlob(layout, tier.store, digest, size)) === "stored"
  })

/** Brings a tree (its manifest, then its files' blobs, several at once) into the local cache, each blob verified by content. */
const fetchTree = (layout: CacheLayout, tier: RemoteTier, digest: string) =>
  Effect.gen(function* () {
    if (!(yield* fetchBlob(layout, tier, digest))) return { missing: digest }
    const manifest = readManifest(layout, digest)
    if (manifest === undefined) return "not-a-tree" as const
    const files = new Map(manifest.entries.map((file) => [file.digest, file.size]))
    const fetched = yield* Effect.forEach(files, ([d, size]) => Effect.map(fetchBlob(layout, tier, d, size), (ok) => (ok ? undefined : d)), { concurrency: PARALLEL_TRANSFERS })
    const missing = fetched.find((d) => d !== undefined)
    return missing === undefined ? ("stored" as const) : { missing }
  })

/**
 * A tree the remote holds (an input a worker needs), brought into the local cache: undefined when
 * it is there now, else why not. Unlike `pullAction`, this is no cache lookup: a caller that
 * names a tree needs it.
 */
export const pullTree = (layout: CacheLayout, tier: RemoteTier, digest: string): Effect.Effect<string | undefined, never, FileSystem.FileSystem> =>
  fetchTree(layout, tier, digest).pipe(
    Effect.map((tree) => (tree === "stored" ? undefined : tree === "not-a-tree" ? `blob ${digest} on ${tier.store.describe} is not a tree manifest` : `${tier.store.describe} lacks blob ${tree.missing} of tree ${digest}`)),
    Effect.catch((error) => Effect.succeed(error.message)),
  )

const missingBlob = (warn: Warn, tier: RemoteTier, key: string, digest: string) =>
  Effect.as(warn(`remote cache: the entry for ${key.slice(0, 12)}… names blob ${digest}, which ${tier.store.describe} lacks; building locally`), undefined)

/** Uploads every blob of the local tree `digest` (and `extra` blobs) that the remote lacks, several at once, the manifest last. */
const uploadTree = (layout: CacheLayout, tier: RemoteTier, digest: string, extra: readonly string[] = []) =>
  Effect.gen(function* () {
    const manifest = readManifest(layout, digest)
    if (manifest === undefined) return yield* new StoreError({ message: `tree ${digest} is not in the local cache` })
    const upload = (d: string, size: number) =>
      Effect.gen(function* () {
        if (!(yield* tier.store.hasBlob(d))) yield* tier.store.putBlob(d, blobPath(layout, d), size)
      })
    const blobs = new Map<string, number>()
    for (const file of manifest.entries) blobs.set(file.digest, file.size)
    for (const d of extra) blobs.set(d, sizeOf(blobPath(layout, d)) ?? 0)
    blobs.delete(digest)
    yield* Effect.forEach(blobs, ([d, size]) => upload(d, size), { concurrency: PARALLEL_TRANSFERS, discard: true })
    yield* upload(digest, sizeOf(blobPath(layout, digest)) ?? 0)
  })

/** Uploads a committed entry: every blob it names that the remote lacks, then the signed entry. */
export const pushAction = (layout: CacheLayout, tier: RemoteTier, entry: ActionEntry, warn: Warn): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (!tier.upload) return
    if (readManifest(layout, entry.output) === undefined) return
    yield* uploadTree(layout, tier, entry.output, entry.log !== null ? [entry.log] : [])
    yield* tier.store.putAction(entry.key, signEntry(tier.signingKey, entry))
  }).pipe(Effect.catch((error) => warn(`remote cache: upload of ${entry.key.slice(0, 12)}… to ${tier.store.describe} failed: ${error.message}`)))

/**
 * Makes a local tree (a step's input, e.g. a source folder) available on the remote for a worker:
 * undefined when it is there now, else why not. Uploads regardless of `upload` (read-only
 * concerns action entries: a tree is addressed by content, so it cannot be wrong).
 */
export const pushTree = (layout: CacheLayout, tier: RemoteTier, digest: string): Effect.Effect<string | undefined> =>
  uploadTree(layout, tier, digest).pipe(
    Effect.as(undefined),
    Effect.catch((error) => Effect.succeed(`upload of tree ${digest} to ${tier.store.describe} failed: ${error.message}`)),
  )
