// Runs a pipeline graph. Each node waits for its inputs, then is resolved: a source by its content
// digest (source.ts); a step by its action (action.ts, with its code digest from step-code.ts) — served from the cache on a hit, else
// handed to the executor (executor.ts: in this process by default — execute.ts, commit.ts, under the
// resource scheduler, scheduler.ts — or on workers, src/executors).
// Params are planned before anything runs (plan.ts); `--frozen` holds nodes to the lock file
// (frozen.ts, rules in lock-file.ts): a drifted node fails before it runs and its dependants are skipped. Independent nodes run concurrently; events report each node's outcome.
import { readFileSync } from "node:fs"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as FileSystem from "effect/FileSystem"
import type * as Scope from "effect/Scope"
import { materialiseTree } from "../cache/tree.ts"
import { pullAction, pushAction, RemoteCache } from "../store/index.ts"
import { type Action, findHit, inputPaths, type Resolved, resolvedFrom, stepAction, whyRun } from "./action.ts"
import { CacheError, type PipelineDefinitionError, StepFailedError } from "./errors.ts"
import { type NodeResult, RunEvents } from "./events.ts"
import { type Executed, Executor, localExecutor } from "./executor.ts"
import { type FrozenVerdict, frozenAfterRun, frozenBeforeRun } from "./frozen.ts"
import type { Graph, GraphNode } from "./graph.ts"
import { type LockFile, lockEntry } from "./lock-file.ts"
import { openCache } from "./open-cache.ts"
import { type PlanRequest, planRun } from "./plan.ts"
import { makeScheduler } from "./scheduler.ts"
import { resolveSource } from "./source.ts"
import { prepareStepCode } from "./step-code.ts"
import type { AnyStep, StepServices } from "./step-definition.ts"
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

export type RunError = CacheError | PipelineDefinitionError

export const runGraph = (graph: Graph, options: RunOptions): Effect.Effect<RunOutcome, RunError, FileSystem.FileSystem | StepServices | RunEvents | Scope.Scope> =>
  Effect.gen(function* () {
    const events = yield* RunEvents
    const { layout, memo, readOnly, notes } = yield* openCache(options.cacheRoot)
    for (const line of notes) yield* events.emit({ type: "log", id: "cache", line })
    const remote = Option.getOrUndefined(yield* Effect.serviceOption(RemoteCache))
    const executor = Option.getOrElse(yield* Effect.serviceOption(Executor), () => localExecutor)
    const warnRemote = (line: string) => events.emit({ type: "log", id: "remote-cache", line })
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
    /** A node `--frozen` stops: it fails naming the drift, and its dependants are skipped. */
    const drifted = (gn: GraphNode, key: string, verdict: { readonly drift: string; readonly hint: string }) =>
      finish({ id: gn.id, step: gn.node.step?.name ?? "source", status: "failed", key, ms: 0, outputs: {}, error: { message: verdict.drift, hint: verdict.hint } }, { kind: "failed" })
    const noteOf = (...verdicts: (FrozenVerdict | undefined)[]): { reason?: string } => {
      const notes = verdicts.flatMap((v) => (v !== undefined && "note" in v && v.note !== undefined ? [v.note] : []))
      return notes.length > 0 ? { reason: notes.join("; ") } : {}
    }

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
        const verdicts = options.frozen ? [frozenBeforeRun(layout, options.lock, gn.id, resolved), frozenAfterRun(options.lock, gn.id, resolved)] : []
        const drift = verdicts.find((v) => "drift" in v)
        if (drift !== undefined && "drift" in drift) return yield* drifted(gn, resolved.key, drift)
        locked[gn.id] = lockEntry("source", 1, resolved)
        yield* finish({ id: gn.id, step: "source", status: "cached", key: resolved.key, ms, outputs: { out: { digest: resolved.output, path: resolved.path } }, ...noteOf(...verdicts) }, { kind: "done", resolved })
      })

    const failed = (gn: GraphNode, action: Action, error: unknown, runsOn: { runsOn?: string }) => {
      const failure = error instanceof StepFailedError ? error : new StepFailedError({ nodeId: gn.id, message: failureText(error).message, cause: error })
      const log = failure.logPath !== undefined ? { logPath: failure.logPath, logTail: tailOf(failure.logPath) } : {}
      return finish(
        { id: gn.id, step: gn.node.step!.name, status: "failed", key: action.key, ms: 0, outputs: {}, error: { message: failure.message, ...(failure.hint !== undefined ? { hint: failure.hint } : {}), ...log }, ...runsOn },
        { kind: "failed" },
      )
    }

    const processStep = (gn: GraphNode, inputs: Readonly<Record<string, Resolved>>) =>
      Effect.gen(function* () {
        const step = gn.node.step!
        const params = plan.params.get(gn.id)
        let action: Action
        try {
          action = stepAction(step, params, inputs, codeOf(step))
        } catch (error) {
          // Its key needs something this machine lacks (a tool whose version it keys on): a dry
          // run says so and plans on; a run fails the node, naming what is missing.
          const { message, hint } = failureText(error)
          if (options.dryRun) return yield* skipped(gn, `cannot run here: ${message}${hint !== undefined ? ` (${hint})` : ""}`, { kind: "unknown" })
          return yield* finish({ id: gn.id, step: step.name, status: "failed", key: "", ms: 0, outputs: {}, error: { message, ...(hint !== undefined ? { hint } : {}) } }, { kind: "failed" })
        }
        const forced = options.force === "all" || options.force.has(gn.id)
        // --frozen decides before anything runs: a drifted node never starts.
        const before = options.frozen ? frozenBeforeRun(layout, options.lock, gn.id, action) : undefined
        if (before !== undefined && "drift" in before) return yield* drifted(gn, action.key, before)
        const hit = findHit(layout, action.key, { forced, verify: options.verify })
        const runsOn = whereItRuns(step, params, inputs)

        if (options.dryRun) {
          if (hit === undefined) return yield* skipped(gn, [`will run: ${whyRun(layout, options.lock, gn.id, action, forced)}`, noteOf(before).reason].filter((r) => r !== undefined).join("; "), { kind: "unknown" }, action.key)
          const resolved = resolvedFrom(layout, action, hit.output)
          const after = options.frozen ? frozenAfterRun(options.lock, gn.id, resolved) : undefined
          if (after !== undefined && "drift" in after) return yield* drifted(gn, action.key, after)
          return yield* finish({ id: gn.id, step: step.name, status: "cached", key: action.key, ms: 0, outputs: { out: { digest: hit.output, path: resolved.path } }, reason: "cached" }, { kind: "done", resolved })
        }

        // A local miss asks the remote tier, which makes it a local hit when it can (tier.ts).
        const pulled = hit === undefined && !forced && remote !== undefined ? yield* pullAction(layout, remote, action.key, warnRemote) : undefined
        const served = hit ?? pulled
        // Explaining a miss reads the previous entry; a hit (the no-op re-run) needs no reason.
        const reason = served === undefined ? whyRun(layout, options.lock, gn.id, action, forced) : ""
        const exit = yield* Effect.exit(
          served !== undefined ? Effect.succeed<Executed>({ entry: served, ran: false }) : executor.execute({ layout, readOnly, scheduler, events, node: gn, params, inputs, action, reason, forced, ...runsOn }),
        )
        if (Exit.isFailure(exit)) {
          if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt
          const error = Cause.squash(exit.cause)
          if (error instanceof CacheError) return yield* error
          return yield* failed(gn, action, error, runsOn)
        }
        const { entry, ran, host, uploaded } = exit.value
        const path = yield* materialiseTree(layout, entry.output as Resolved["output"])
        const resolved = resolvedFrom(layout, action, entry.output, path)
        const after = options.frozen ? frozenAfterRun(options.lock, gn.id, resolved) : undefined
        if (after !== undefined && "drift" in after) return yield* drifted(gn, action.key, after)
        locked[gn.id] = lockEntry(step.name, step.version, resolved)
        const notes = noteOf(before, after).reason
        const why = [ran ? reason : undefined, notes].filter((r) => r !== undefined && r !== "").join("; ")
        yield* finish(
          { id: gn.id, step: step.name, status: ran ? "ran" : pulled !== undefined ? "remote" : "cached", key: action.key, ms: ran ? entry.ms : 0, outputs: { out: { digest: entry.output, path } }, ...(why !== "" ? { reason: why } : {}), ...runsOn, ...(host !== undefined ? { host } : {}) },
          { kind: "done", resolved },
        )
        // After dependants were released: they need not wait for the upload, the run's end does.
        if (ran && remote !== undefined && uploaded !== true) yield* pushAction(layout, remote, entry, warnRemote)
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

/** The step's own account of where it runs; a step that cannot tell (an unrecognised input) says nothing. */
const whereItRuns = (step: AnyStep, params: unknown, inputs: Readonly<Record<string, Resolved>>): { runsOn?: string } => {
  if (step.runsOn === undefined) return {}
  try {
    return { runsOn: step.runsOn(params, inputPaths(inputs)) }
  } catch {
    return {}
  }
}

const tailOf = (path: string): string[] => {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-LOG_TAIL_LINES)
  } catch {
    return []
  }
}
