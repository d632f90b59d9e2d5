// The one error type of the local runtime: bad bundles and options, missing fusions after a
// compile, sessions or workers that fail. Each message names the file, field or fusion at fault.

export type RuntimeErrorReason =
  | "invalid-bundle"
  | "invalid-model"
  | "invalid-option"
  | "invalid-input"
  | "missing-fusion"
  | "incompatible-host"
  | "session-failed"
  | "worker-failed"
  | "closed"

export class RuntimeError extends Error {
  override readonly name = "RuntimeError"
  readonly _tag = "RuntimeError"
  readonly reason: RuntimeErrorReason
  /** The bundle, model folder or file concerned, when there is one. */
  readonly path: string | undefined

  constructor(reason: RuntimeErrorReason, message: string, options?: { path?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.reason = reason
    this.path = options?.path
  }
}

/** The message of anything thrown, for wrapping foreign errors once at the boundary. */
export const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))
