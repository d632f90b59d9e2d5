// Bringing one remote blob into the local cache: stream it to a temp file in the run's tmp dir,
// hashing and counting as it arrives, and publish it through the cache's atomic path only when
// the bytes hash to the digest asked for. Anything else (short body, wrong bytes, a dropped
// connection, a full disk) removes the temp file: nothing unverified ever enters the cache.
import { createHash } from "node:crypto"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { putHashedBlob } from "../cache/blobs.ts"
import type { CacheLayout } from "../cache/layout.ts"
import { type Store, StoreError } from "./store.ts"

export type Fetched = "stored" | "missing"

export const downloadBlob = (layout: CacheLayout, store: Store, digest: string, expectedSize?: number) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const body = yield* store.getBlob(digest)
    if (body === undefined) return "missing" as Fetched
    const temp = `${layout.tmp}/download-${digest.slice(0, 16)}-${Math.random().toString(36).slice(2)}`
    const hash = createHash("sha256")
    let size = 0
    yield* Effect.scoped(
      Effect.gen(function* () {
        const file = yield* fs.open(temp, { flag: "w" })
        const reader = body.getReader()
        yield* Effect.addFinalizer(() => Effect.promise(() => reader.cancel().catch(() => undefined)))
        while (true) {
          const chunk = yield* Effect.tryPromise({ try: () => reader.read(), catch: (cause) => new StoreError({ message: `${store.describe}: download of blob ${digest} broke off: ${(cause as Error)?.message ?? String(cause)}`, cause }) })
          if (chunk.done) break
          hash.update(chunk.value)
          size += chunk.value.byteLength
          if (expectedSize !== undefined && size > expectedSize) return yield* new StoreError({ message: `${store.describe}: blob ${digest} is longer than the ${expectedSize} bytes its tree names` })
          yield* file.writeAll(chunk.value)
        }
        yield* file.sync
      }),
    ).pipe(
      Effect.mapError((e) => (e instanceof StoreError ? e : new StoreError({ message: `writing blob ${digest} to the local cache failed: ${e.message}`, cause: e }))),
      Effect.flatMap(() => {
        const got = hash.digest("hex")
        if (got !== digest) return Effect.fail(new StoreError({ message: `${store.describe}: blob ${digest} has the wrong content (${size} bytes hashing to ${got})` }))
        if (expectedSize !== undefined && size !== expectedSize) return Effect.fail(new StoreError({ message: `${store.describe}: blob ${digest} is ${size} bytes, its tree names ${expectedSize}` }))
        return putHashedBlob(layout, temp, digest).pipe(Effect.mapError((e) => new StoreError({ message: e.message, cause: e })))
      }),
      Effect.onExit((exit) => (exit._tag === "Success" ? Effect.void : fs.remove(temp, { force: true }).pipe(Effect.ignore))),
    )
    return "stored" as Fetched
  })
