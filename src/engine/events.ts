// Events a run emits for renderers (TTY lines, plain logs, JSON), as a service so tests and the
// CLI choose where they go.
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"

/** `cached`: served by the local cache; `remote`: downloaded from the remote tier (then served locally). */
export type NodeStatus = "ran" | "cached" | "remote" | "failed" | "skipped"

export interface NodeResult {
  readonly id: string
  readonly step: string
  readonly status: NodeStatus
  readonly key: string
  readonly ms: number
  readonly outputs: Readonly<Record<string, { readonly digest: string; readonly path: string }>>
  /** Why a node ran, will run, failed or was skipped. */
  readonly reason?: string
  readonly error?: { readonly message: string; readonly hint?: string; readonly logPath?: string; readonly logTail?: readonly string[] }
  /** Where the step ran (a target name), for steps that say (StepSpec.runsOn). */
  readonly runsOn?: string
  /** Which machine ran the step, when an executor ran it elsewhere (a worker: "host:pid"). */
  readonly host?: string
}

export type RunEvent =
  | { readonly type: "start"; readonly id: string; readonly step: string; readonly reason: string }
  | { readonly type: "waiting"; readonly id: string; readonly why: string }
  | { readonly type: "progress"; readonly id: string; readonly done: number; readonly total: number }
  | { readonly type: "log"; readonly id: string; readonly line: string }
  | { readonly type: "finish"; readonly result: NodeResult }

/** Where a run sends its events. */
export interface RunEventSink {
  readonly emit: (event: RunEvent) => Effect.Effect<void>
}

export class RunEvents extends Context.Service<RunEvents, RunEventSink>()("kiln/RunEvents") {
  static readonly collect = (into: RunEvent[]) => RunEvents.of({ emit: (event) => Effect.sync(() => void into.push(event)) })
  static readonly silent = RunEvents.of({ emit: () => Effect.void })
}
