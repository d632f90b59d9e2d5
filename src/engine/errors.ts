// Tagged errors of the engine. Each names what went wrong (node, field, file) and says how to
// fix it; the CLI prints `message` and `hint` and never a stack trace for these.
import * as Data from "effect/Data"
import { CacheError } from "../cache/errors.ts"

/** A pipeline definition or a CLI argument is wrong; nothing ran. */
export class PipelineDefinitionError extends Data.TaggedError("PipelineDefinitionError")<{
  readonly message: string
  readonly hint?: string
}> {}

/** A step failed while running (it threw, failed, or broke its contract). */
export class StepFailedError extends Data.TaggedError("StepFailedError")<{
  readonly message: string
  readonly nodeId: string
  readonly cause?: unknown
  readonly logPath?: string
  readonly hint?: string
}> {}

/** The cache could not be read or written (disk full, permissions, corruption); defined by the cache. */
export { CacheError }

/** `--frozen` found a node whose key or outputs differ from the lock file. */
export class LockDriftError extends Data.TaggedError("LockDriftError")<{
  readonly message: string
  readonly nodeId: string
  readonly hint?: string
}> {}

export type EngineError = PipelineDefinitionError | StepFailedError | CacheError | LockDriftError

/** The error a step's own code raises to fail with a clear message. */
export class StepError extends Data.TaggedError("StepError")<{
  readonly message: string
  readonly hint?: string
  readonly cause?: unknown
  /** The failure may pass on a retry (a flaky device, a busy tool): workers retry it a bounded number of times; nothing else is retried. */
  readonly transient?: boolean
}> {}
