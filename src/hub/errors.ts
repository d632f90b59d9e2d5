// The one error type of the Hub library. `reason` is a closed set so callers (and tests) can act on
// it; `message` names the repo, revision and file, and `hint` says what to do — the Hub's own
// messages do not (a gated repo's reply never mentions HF_TOKEN, for one).
import * as Data from "effect/Data"

export type HubErrorReason =
  /** The repo needs a token (gated or private) and none was given, or the token has no access. */
  | "unauthorized"
  /** No such repo (the Hub also answers this for private repos without a token). */
  | "repo-not-found"
  | "revision-not-found"
  | "file-not-found"
  /** HF_HUB_OFFLINE is set (or the revision is pinned and nothing may be fetched) and the cache lacks the files. */
  | "offline"
  /** The server did not answer, or stopped sending, within the timeout. */
  | "timeout"
  /** A downloaded file does not match the digest the Hub gave for it; nothing was cached. */
  | "integrity"
  /** The cache folder holds something that is not the layout huggingface_hub writes (e.g. a symlink out of blobs/). */
  | "cache-layout"
  /** The cache folder could not be written (permissions, disk full). */
  | "cache-io"
  | "network"
  | "http"

export class HubError extends Data.TaggedError("HubError")<{
  readonly reason: HubErrorReason
  readonly message: string
  readonly hint?: string
  readonly repo?: string
  readonly revision?: string
  readonly path?: string
  readonly cause?: unknown
}> {}
