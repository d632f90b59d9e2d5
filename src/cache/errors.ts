// The cache's tagged error: a read or write of the store failed (disk full, permissions,
// corruption). The CLI prints `message` and `hint`, never a stack trace.
import * as Data from "effect/Data"

export class CacheError extends Data.TaggedError("CacheError")<{
  readonly message: string
  readonly path?: string
  readonly cause?: unknown
  readonly hint?: string
}> {}
