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
import type { Store } from "./store.ts"

export interface RemoteTier {
  readonly store: Store
  /** KILN_CACHE_SIGNING_KEY: entries are signed with it on upload and checked with it on download. */
  readonly signingKey: string
  /** Upload entries of steps that ran (off for `--remote-read-only`, e.g. pull-request jobs). */
  readonly upload: boolean
}

export class RemoteCache extends Context.Service<RemoteCache, RemoteTier>()("kiln/RemoteCache") {}

type Warn = (line: string) => Effect.Effect<void>

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
    const fetch = (digest: string, size?: number) =>
      Effect.gen(function* () {
        if (size !== undefined ? sizeOf(blobPath(layout, digest)) === size : existsSync(blobPath(layout, digest))) return true
        return (yield* downloadBlob(layout, tier.store, digest, size)) === "stored"
      })
    if (!(yield* fetch(entry.output))) return yield* missingBlob(warn, tier, key, entry.output)
    const manifest = readManifest(layout, entry.output)
    if (manifest === undefined) {
      yield* warn(`remote cache: the entry for ${key.slice(0, 12)}… names ${entry.output}, which is not a tree manifest; building locally`)
      return undefined
    }
    for (const file of manifest.entries) if (!(yield* fetch(file.digest, file.size))) return yield* missingBlob(warn, tier, key, file.digest)
    if (entry.log !== null && !(yield* fetch(entry.log))) return yield* missingBlob(warn, tier, key, entry.log)
    yield* writeActionEntry(layout, entry)
    return lookupAction(layout, key)
  }).pipe(
    Effect.catch((error) => Effect.as(warn(`remote cache: ${error.message}; building locally`), undefined)),
  )

const missingBlob = (warn: Warn, tier: RemoteTier, key: string, digest: string) =>
  Effect.as(warn(`remote cache: the entry for ${key.slice(0, 12)}… names blob ${digest}, which ${tier.store.describe} lacks; building locally`), undefined)

/** Uploads a committed entry: every blob it names that the remote lacks, then the signed entry. */
export const pushAction = (layout: CacheLayout, tier: RemoteTier, entry: ActionEntry, warn: Warn): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (!tier.upload) return
    const manifest = readManifest(layout, entry.output)
    if (manifest === undefined) return
    const blobs = new Map<string, number>()
    for (const file of manifest.entries) blobs.set(file.digest, file.size)
    for (const digest of [entry.output, ...(entry.log !== null ? [entry.log] : [])]) blobs.set(digest, sizeOf(blobPath(layout, digest)) ?? 0)
    for (const [digest, size] of blobs) {
      if (yield* tier.store.hasBlob(digest)) continue
      yield* tier.store.putBlob(digest, blobPath(layout, digest), size)
    }
    yield* tier.store.putAction(entry.key, signEntry(tier.signingKey, entry))
  }).pipe(Effect.catch((error) => warn(`remote cache: upload of ${entry.key.slice(0, 12)}… to ${tier.store.describe} failed: ${error.message}`)))
