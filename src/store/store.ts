// The store seam: what any tier of the artifact cache can do — blobs by sha256 (has / get / put)
// and action entries by key (get / put). The local cache (local.ts) and every remote store
// (http/, s3/ …, registered in registry.ts) implement it; tier.ts layers a remote under the local
// cache. Stores move bytes and nothing else: verifying digests and signatures is the tier's job,
// so a lying store cannot get anything past it.
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"

export class StoreError extends Data.TaggedError("StoreError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export interface Store {
  /** Where it is, for messages and `kiln cache status` (never credentials). */
  readonly describe: string
  readonly hasBlob: (digest: string) => Effect.Effect<boolean, StoreError>
  /** The blob's bytes as a stream (never whole in memory), or undefined when the store lacks it. */
  readonly getBlob: (digest: string) => Effect.Effect<ReadableStream<Uint8Array> | undefined, StoreError>
  /** Stores the local file `path` (whose content hashes to `digest`) as a blob, streaming it. */
  readonly putBlob: (digest: string, path: string, size: number) => Effect.Effect<void, StoreError>
  /** An action entry's stored bytes (small: a signed JSON envelope), or undefined when absent. */
  readonly getAction: (key: string) => Effect.Effect<Uint8Array | undefined, StoreError>
  readonly putAction: (key: string, bytes: Uint8Array) => Effect.Effect<void, StoreError>
}

const isDigest = (text: string): boolean => /^[0-9a-f]{64}$/.test(text)

/** Fails unless `text` is a sha256 in hex: a store never builds a path or object key from anything else. */
export const checkedDigest = (describe: string, what: string, text: string): Effect.Effect<void, StoreError> =>
  isDigest(text) ? Effect.void : Effect.fail(new StoreError({ message: `${describe}: ${text} is not a sha256 ${what}` }))
