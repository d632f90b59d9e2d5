// Content-addressed blobs: files stored read-only under their sha256. A blob enters by being
// hashed, fsynced, then renamed into place, so a blob path either holds the full content or
// nothing — a crash mid-write leaves only temp files.
import { existsSync, mkdirSync, renameSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { CacheError } from "./errors.ts"
import { DISK_FULL_HINT, isDiskFull } from "./disk-full.ts"
import { sha256File } from "./file-digest.ts"
import { type CacheLayout, shard } from "./layout.ts"

export const blobPath = (layout: CacheLayout, digest: string): string => shard(layout.cas, digest)

export const hasBlob = (layout: CacheLayout, digest: string): boolean => existsSync(blobPath(layout, digest))

/** Wraps a filesystem failure of a cache operation; a full disk (by its error code) gets its own hint. */
export const cacheFailure = (what: string, path: string) => (cause: unknown) => {
  const full = isDiskFull(cause)
  return new CacheError({
    message: `cache: ${what} failed for ${path}: ${full ? "no space left on device" : String((cause as { message?: unknown })?.message ?? cause)}`,
    path,
    cause,
    hint: full ? DISK_FULL_HINT : "check the cache directory's permissions and free space",
  })
}

/** Durably writes `data` to `path` via a temp file in the same directory and a rename. */
export const writeFileAtomic = (path: string, data: Uint8Array) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const temp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`
    yield* fs.makeDirectory(dirname(path), { recursive: true })
    yield* Effect.gen(function* () {
      yield* fs.writeFile(temp, data)
      yield* Effect.scoped(Effect.flatMap(fs.open(temp, { flag: "r+" }), (file) => file.sync))
      yield* fs.rename(temp, path)
    }).pipe(
      // A failed write, fsync or rename (or an interrupt) must not leave the temp file behind.
      Effect.onExit((exit) => (exit._tag === "Success" ? Effect.void : fs.remove(temp, { force: true }).pipe(Effect.ignore))),
    )
  }).pipe(Effect.mapError(cacheFailure("write", path)))

/** Moves a blob out of the store into quarantine, where it is never served (kept for inspection). */
export const quarantineBlob = (layout: CacheLayout, digest: string): void => {
  mkdirSync(layout.quarantine, { recursive: true })
  try {
    renameSync(blobPath(layout, digest), join(layout.quarantine, `${digest}-${Date.now()}`))
  } catch {
    // already moved by a concurrent verifier
  }
}

/**
 * Moves a file (in the cache's tmp dir) into the blob store and returns its digest. The source
 * file is consumed: renamed into place, or removed when the blob already exists — unless the
 * stored one has the wrong size (truncated): then it is quarantined and replaced by the good copy.
 */
export const putBlobFromFile = (layout: CacheLayout, file: string) =>
  Effect.flatMap(Effect.try({ try: () => sha256File(file), catch: cacheFailure("hash", file) }), (digest) => putHashedBlob(layout, file, digest))

/**
 * Like putBlobFromFile for a file whose digest the caller computed while writing it (a download
 * hashed as it streamed), so a large blob is not read twice. The caller vouches for `digest`.
 */
export const putHashedBlob = (layout: CacheLayout, file: string, digest: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const target = blobPath(layout, digest)
    if (existsSync(target)) {
      if (statSync(target).size === statSync(file).size) {
        yield* fs.remove(file).pipe(Effect.mapError(cacheFailure("remove", file)))
        return digest
      }
      quarantineBlob(layout, digest)
    }
    yield* Effect.gen(function* () {
      yield* Effect.scoped(Effect.flatMap(fs.open(file, { flag: "r+" }), (f) => f.sync))
      yield* fs.chmod(file, 0o444)
      yield* fs.makeDirectory(dirname(target), { recursive: true })
      yield* fs.rename(file, target)
    }).pipe(
      Effect.tapError(() => fs.remove(file, { force: true }).pipe(Effect.ignore)),
      Effect.mapError(cacheFailure("store blob", target)),
    )
    return digest
  })

/** Stores bytes as a blob (through a temp file, like every other blob). */
export const putBlobBytes = (layout: CacheLayout, data: Uint8Array) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    yield* fs.makeDirectory(layout.tmp, { recursive: true }).pipe(Effect.mapError(cacheFailure("create", layout.tmp)))
    const temp = `${layout.tmp}/blob-${process.pid}-${Math.random().toString(36).slice(2)}`
    yield* fs.writeFile(temp, data).pipe(
      Effect.mapError(cacheFailure("write", temp)),
      Effect.tapError(() => fs.remove(temp, { force: true }).pipe(Effect.ignore)),
    )
    return yield* putBlobFromFile(layout, temp)
  })
