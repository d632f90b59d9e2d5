// Runs a pipeline graph. Each node waits for its inputs, then is resolved: a source by its content
// digest (source.ts); a step by its action (action.ts, with its code digest from step-code.ts) — served from the cache on a hit, else
// executed and committed (execute.ts, commit.ts) under the resource scheduler (scheduler.ts).
// Params are planned before anything runs (plan.ts); `--frozen` holds nodes to the lock file
// (frozen.ts). Independent nodes run concurrently; events report each node's outcome.
import { readFileSync } from "node:fs"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as FileSystem from "effect/FileSystem"
import type * as Scope from "effect/Scope"
import { materialiseTree } from "../cache/tree.ts"
import { type Action, findHit, type Resolved, resolvedFrom, stepAction, whyRun } from "./action.ts"
import { CacheError, type LockDriftError, type PipelineDefinitionError, StepFailedError } from "./errors.ts"
import { type NodeResult, RunEvents } from "./events.ts"
import { executeStep } from "./execute.ts"
import { checkFrozen } from "./frozen.ts"
import type { Graph, GraphNode } from "./graph.ts"
import type { LockFile } from "./lock-file.ts"
import { openCache } from "./open-cache.ts"
import { type PlanRequest, planRun } from "./plan.ts"
import { makeScheduler } from "./scheduler.ts"
import { resolveSource } from "./source.ts"
import { prepareStepCode } from "./step-code.ts"
import type { StepServices } from "./step-definition.ts"
import { failureText } from "./step-failure.ts"

export interface RunOptions extends PlanRequest {
  readonly cacheRoot: string
  /** Concurrent CPU-heavy steps; I/O steps get twice as many, device steps one, exclusive steps run alone. */
  readonly jobs: number
  /** Accelerator dies device steps may use at once (default 1). */
  readonly devices?: number
  readonly frozen: boolean
  readonly verify: boolean
  readonly dryRun: boolean
  /** The pipeline's lock file as it was before this run (for --frozen and --dry-run reasons). */
  readonly lock: LockFile | undefined
}

export interface RunOutcome {
  readonly ok: boolean
  readonly results: readonly NodeResult[]
  /** What the lock file should say after this run (only nodes that resolved). */
  readonly locked: LockFile["nodes"]
}

/** What dependants learn of a node: its output, "not known in this run" (dry run, --until), or failed. */
type NodeOutcome = { readonly kind: "done"; readonly resolved: Resolved } | { readonly kind: "unknown" } | { readonly kind: "failed" }

export type RunError = LockDriftError | CacheError | PipelineDefinitionError

export const runGraph = (graph: Graph, options: RunOptions): Effect.Effect<RunOutcome, RunError, FileSystem.FileSystem | StepServices | RunEvents | Scope.Scope> =>
  Effect.gen(function* () {
    const events = yield* RunEvents
    const { layout, memo, readOnly, notes } = yield* openCache(options.cacheRoot)
    for (const line of notes) yield* events.emit({ type: "log", id: "cache", line })
    const plan = yield* planRun(graph, options)
    const scheduler = yield* makeScheduler(options.jobs, options.devices)
    const codeOf = yield* prepareStepCode(layout, graph.nodes.flatMap((gn) => (plan.selected.has(gn.id) && gn.node.step !== undefined ? [gn.node.step] : [])))
    const outcomes = new Map<string, Deferred.Deferred<NodeOutcome>>()
    for (const { id } of graph.nodes) outcomes.set(id, yield* Deferred.make<NodeOutcome>())
    const results = new Map<string, NodeResult>()
    const locked: LockFile["nodes"] = {}

    const finish = (result: NodeResult, outcome: NodeOutcome) =>
      Effect.gen(function* () {
        results.set(result.id, result)
        yield* events.emit({ type: "finish", result })
        yield* Deferred.succeed(outcomes.get(result.id)!, outcome)
      })
    const skipped = (gn: GraphNode, reason: string, outcome: NodeOutcome, key = "") =>
      finish({ id: gn.id, step: gn.node.step?.name ?? "source", status: "skipped", key, ms: 0, outputs: {}, reason }, outcome)
    const frozen = (gn: GraphNode, resolved: Resolved) => (options.frozen ? checkFrozen(layout, options.lock, gn.id, resolved) : Effect.void)

    /** The outputs of a node's inputs, or why the node cannot be resolved in this run. */
    const awaitInputs = (gn: GraphNode) =>
      Effect.gen(function* () {
        const inputs: Record<string, Resolved> = {}
        const pending: string[] = []
        for (const [name, fromId] of Object.entries(gn.inputs)) {
          const outcome = yield* Deferred.await(outcomes.get(fromId)!)
          if (outcome.kind === "failed") return { kind: "failed" as const, reason: `input ${name} (${fromId}) failed` }
          if (outcome.kind === "unknown") pending.push(fromId)
          else inputs[name] = outcome.resolved
        }
        if (pending.length > 0) return { kind: "unknown" as const, reason: `will run: upstream ${pending.join(", ")} will run first` }
        return { kind: "ready" as const, inputs }
      })

    const processSource = (gn: GraphNode) =>
      Effect.gen(function* () {
        const ctx = {
          dryRun: options.dryRun,
          log: (line: string) => events.emit({ type: "log", id: gn.id, line }),
          progress: (part: string, done: number, total: number) => events.emit({ type: "progress", id: `${gn.id} ${part}`, done, total }),
        }
        const exit = yield* Effect.exit(resolveSource(gn, memo, ctx))
        if (Exit.isFailure(exit)) {
          if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt
          return yield* finish({ id: gn.id, step: "source", status: "failed", key: "", ms: 0, outputs: {}, error: failureText(Cause.squash(exit.cause)) }, { kind: "failed" })
        }
        if ("pending" in exit.value) return yield* skipped(gn, `will fetch: ${exit.value.pending}`, { kind: "unknown" })
        const { resolved, ms } = exit.value
        yield* frozen(gn, resolved)
        locked[gn.id] = { step: "source", version: 1, key: resolved.key, fingerprint: { ...resolved.keyInputs.fingerprint }, outputs: { out: resolved.output } }
        yield* finish({ id: gn.id, step: "source", status: "cached", key: resolved.key, ms, outputs: { out: { digest: resolved.output, path: resolved.path } } }, { kind: "done", resolved })
      })

    const failed = (gn: GraphNode, action: Action, error: unknown) => {
      const failure = error instanceof StepFailedError ? error : new StepFailedError({ nodeId: gn.id, message: failureText(error).message, cause: error })
      const log = failure.logPath !== undefined ? { logPath: failure.logPath, logTail: tailOf(failure.logPath) } : {}
      return finish(
        { id: gn.id, step: gn.node.step!.name, status: "failed", key: action.key, ms: 0, outputs: {}, error: { message: failure.message, ...(failure.hint !== undefined ? { hint: failure.hint } : {}), ...log } },
        { kind: "failed" },
      )
    }

    const processStep = (gn: GraphNode, inputs: Readonly<Record<string, Resolved>>) =>
      Effect.gen(function* () {
        const step = gn.node.step!
        const params = plan.params.get(gn.id)
        const action = stepAction(step, params, inputs, codeOf(step))
        const forced = options.force === "all" || options.force.has(gn.id)
        const hit = findHit(layout, action.key, { forced, verify: options.verify })

        if (options.dryRun) {
          if (hit === undefined) return yield* skipped(gn, `will run: ${whyRun(layout, options.lock, gn.id, action, forced)}`, { kind: "unknown" }, action.key)
          const resolved = resolvedFrom(layout, action, hit.output)
          return yield* finish({ id: gn.id, step: step.name, status: "cached", key: action.key, ms: 0, outputs: { out: { digest: hit.output, path: resolved.path } }, reason: "cached" }, { kind: "done", resolved })
        }

        // Explaining a miss reads the previous entry; a hit (the no-op re-run) needs no reason.
        const reason = hit === undefined ? whyRun(layout, options.lock, gn.id, action, forced) : ""
        const exit = yield* Effect.exit(
          hit !== undefined ? Effect.succeed({ entry: hit, ran: false }) : executeStep({ layout, readOnly, scheduler, events, node: gn, params, inputs, action, reason, forced }),
        )
        if (Exit.isFailure(exit)) {
          if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt
          const error = Cause.squash(exit.cause)
          if (error instanceof CacheError) return yield* error
          return yield* failed(gn, action, error)
        }
        const { entry, ran } = exit.value
        const path = yield* materialiseTree(layout, entry.output as Resolved["output"])
        const resolved = resolvedFrom(layout, action, entry.output, path)
        yield* frozen(gn, resolved)
        locked[gn.id] = { step: step.name, version: step.version, key: action.key, fingerprint: { ...action.fingerprint }, outputs: { out: entry.output } }
        yield* finish(
          { id: gn.id, step: step.name, status: ran ? "ran" : "cached", key: action.key, ms: ran ? entry.ms : 0, outputs: { out: { digest: entry.output, path } }, ...(ran ? { reason } : {}) },
          { kind: "done", resolved },
        )
      })

    const processNode = (gn: GraphNode) =>
      Effect.gen(function* () {
        if (!plan.selected.has(gn.id)) return yield* skipped(gn, `not needed for --until ${options.until}`, { kind: "unknown" })
        const ready = yield* awaitInputs(gn)
        if (ready.kind !== "ready") return yield* skipped(gn, ready.reason, { kind: ready.kind })
        if (gn.node.source !== undefined) return yield* processSource(gn)
        return yield* processStep(gn, ready.inputs)
      })

    yield* Effect.forEach(graph.nodes, processNode, { concurrency: "unbounded", discard: true })
    const ordered = graph.nodes.map((gn) => results.get(gn.id)!)
    const ok = ordered.every((r) => r.status !== "failed") && (options.dryRun || options.until !== undefined || ordered.every((r) => r.status !== "skipped"))
    return { ok, results: ordered, locked } satisfies RunOutcome
  })

const LOG_TAIL_LINES = 20

const tailOf = (path: string): string[] => {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-LOG_TAIL_LINES)
  } catch {
    return []
  }
}
