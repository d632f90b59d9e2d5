// What every executor's opener gives the run (its Executor service and how to close it) and is
// given (the run's remote tier and environment).
import type { ExecutorShape } from "../engine/index.ts"
import type { RemoteTier } from "../store/index.ts"

export interface OpenedExecutor {
  readonly executor: ExecutorShape
  /** Closes its connections; a run calls it when it ends. */
  readonly close: () => Promise<void>
}

export interface ExecutorContext {
  /** The run's remote cache tier: artifacts travel between the run and the workers only through it. */
  readonly remote: RemoteTier
  readonly env: Record<string, string | undefined>
}
