// The executor seam: where a step node that missed the cache is run. The runtime stays the
// scheduler — it knows the graph, resolves hits (local and remote tier) itself and asks the
// executor only for a miss whose inputs are ready. `local` runs the step in this process
// (execute.ts); other executors (src/executors: a queue of workers, say) run it elsewhere and
// return the committed entry from this process's cache. The run provides one as the `Executor`
// service; without it, steps run locally.
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import type { ActionEntry } from "../cache/action-cache.ts"
import type { CacheError, StepFailedError } from "./errors.ts"
import { executeStep, type StepExecution } from "./execute.ts"
import type { StepServices } from "./step-definition.ts"

export type { StepExecution } from "./execute.ts"

/** A miss resolved by an executor: the entry, now in this process's cache. */
export interface Executed {
  readonly entry: ActionEntry
  /** False when another runner committed the entry meanwhile (the step did not run for us). */
  readonly ran: boolean
  /** Which machine ran it, when not this process (for the summary and the report). */
  readonly host?: string
  /** The entry is already on the remote tier (a worker uploaded it): the runtime need not push it. */
  readonly uploaded?: boolean
}

export interface ExecutorShape {
  /** For messages: "local", "bullmq redis://host:6379". */
  readonly describe: string
  readonly execute: (x: StepExecution) => Effect.Effect<Executed, StepFailedError | CacheError, FileSystem.FileSystem | StepServices>
}

export class Executor extends Context.Service<Executor, ExecutorShape>()("kiln/Executor") {}

/** Today's in-process execution: key lock, resource permit, scoped work dir, commit. */
export const localExecutor: ExecutorShape = { describe: "local", execute: executeStep }
