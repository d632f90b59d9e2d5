// The one error type of the target seam: a target's tool is missing or failed, its config or output
// is not what the vendor documents, a device is unavailable, or a runner died. Messages name the
// tool, file, field or line, and `hint` says how to fix it.
import * as Data from "effect/Data"

export type TargetErrorReason =
  | "tool-missing"
  | "tool-failed"
  | "bad-config"
  | "bad-input"
  | "bad-output"
  | "device-unavailable"
  | "runner-crashed"
  | "unknown-target"

export class TargetError extends Data.TaggedError("TargetError")<{
  readonly target: string
  readonly reason: TargetErrorReason
  readonly message: string
  readonly hint?: string
  /** The file concerned (a config, a log, a model), when there is one. */
  readonly path?: string
  readonly cause?: unknown
}> {}
