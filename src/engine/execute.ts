// Executing one step node on a cache miss: take the key's cross-process lock (another runner may
// have committed meanwhile), wait for a permit of the step's resource class, run the step in a
// scoped work dir (out/, scratch/, step.log — removed when the scope closes), then commit its output.
// A failure keeps the step's log under <cache>/logs and names it.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FileSystem from "effect/FileSystem"
import { type ActionEntry, lookupAction } from "../cache/action-cache.ts"
import { acquireKeyLock } from "../cache/key-lock.ts"
import type { CacheLayout } from "../cache/layout.ts"
import type { Action, Resolved } from "./action.ts"
import { commitOutput } from "./commit.ts"
import { CacheError, StepFailedError } from "./errors.ts"
import type { RunEventSink } from "./events.ts"
import type { GraphNode } from "./graph.ts"
import type { Scheduler } from "./scheduler.ts"
import type { ArtifactInput, StepServices } from "./step-definition.ts"
import { failureText } from "./step-failure.ts"

export interface StepExecution {
  readonly layout: CacheLayout
  /** The cache cannot be written: a step that has to run fails at once, saying so. */
  readonly readOnly?: boolean
  readonly scheduler: Scheduler
  readonly events: RunEventSink
  readonly node: GraphNode
  readonly params: unknown
  readonly inputs: Readonly<Record<string, Resolved>>
  readonly action: Action
  /** Why it runs, for the start event. */
  readonly reason: string
  /** A forced node runs even when another runner committed its entry while we waited. */
  readonly forced: boolean
  /** The target the step says it runs on (StepSpec.runsOn), when it says. */
  readonly runsOn?: string
}

const safeName = (id: string): string => id.replace(/[^A-Za-z0-9_.-]/g, "_")

/** Runs the step (or finds it committed by a concurrent runner) and returns its action entry. */
export const executeStep = (x: StepExecution): Effect.Effect<{ readonly entry: ActionEntry; readonly ran: boolean }, StepFailedError | CacheError, FileSystem.FileSystem | StepServices> =>
  Effect.scoped(
    Effect.gen(function* () {
      const { layout, events, node: gn, action } = x
      const step = gn.node.step!
      if (x.readOnly === true) {
        return yield* new StepFailedError({
          nodeId: gn.id,
          message: `step "${gn.id}" (${step.name}) needs to run, but the cache ${layout.root} is read-only: its output could not be stored`,
          hint: "run with a writable --cache-dir (or KILN_CACHE_DIR); a read-only cache serves only runs it holds in full",
        })
      }
      yield* acquireKeyLock(layout.locks, action.key, () => Effect.runSync(events.emit({ type: "waiting", id: gn.id, why: "another process is running this step" })))
      const raced = x.forced ? undefined : lookupAction(layout, action.key)
      if (raced !== undefined) return { entry: raced, ran: false }
      // The resource permit is held from start to commit; waiting for another process's key lock
      // (above) does not occupy one.
      yield* x.scheduler.hold(action.resources)
      yield* events.emit({ type: "start", id: gn.id, step: step.name, reason: x.reason })
      const started = Date.now()
      const fs = yield* FileSystem.FileSystem
      const work = yield* fs.makeTempDirectoryScoped({ directory: layout.tmp, prefix: `${safeName(gn.id)}-` }).pipe(
        Effect.mapError((e) => new CacheError({ message: `cache: cannot create a temp dir in ${layout.tmp}: ${e.message}`, path: layout.tmp })),
      )
      const outDir = join(work, "out")
      const tmpDir = join(work, "scratch")
      const logPath = join(work, "step.log")
      mkdirSync(outDir)
      mkdirSync(tmpDir)
      writeFileSync(logPath, "")
      const controller = new AbortController()
      yield* Effect.addFinalizer(() => Effect.sync(() => controller.abort()))
      const ctx = {
        nodeId: gn.id,
        params: x.params,
        inputs: Object.fromEntries(Object.entries(x.inputs).map(([name, r]) => [name, { path: r.path, digest: r.output } satisfies ArtifactInput])),
        outDir,
        tmpDir,
        signal: controller.signal,
        log: (line: string) =>
          Effect.gen(function* () {
            appendFileSync(logPath, line.endsWith("\n") ? line : line + "\n")
            yield* events.emit({ type: "log", id: gn.id, line })
          }),
        progress: (done: number, total: number) => events.emit({ type: "progress", id: gn.id, done, total }),
      }
      const exit = yield* Effect.exit(Effect.suspend(() => step.run(ctx)) as Effect.Effect<void, unknown, StepServices>)
      /**
       * Keeps the log of a failed step under <cache>/logs with `error` appended. Best effort: the
       * failure may be a full disk, so the output it no longer needs goes first, and a log that
       * still cannot be written is not named rather than failing the report of the real error.
       */
      const keptLog = (error: string): { logPath?: string } => {
        try {
          rmSync(outDir, { recursive: true, force: true })
          appendFileSync(logPath, `error: ${error}\n`)
          const dir = join(layout.root, "logs")
          mkdirSync(dir, { recursive: true })
          const kept = join(dir, `${safeName(gn.id)}-${action.key.slice(0, 16)}.log`)
          writeFileSync(kept, existsSync(logPath) ? readFileSync(logPath) : "")
          return { logPath: kept }
        } catch {
          return {}
        }
      }
      if (Exit.isFailure(exit)) {
        if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt
        const error = Cause.squash(exit.cause)
        const { message, hint } = failureText(error)
        return yield* new StepFailedError({ nodeId: gn.id, message: `step "${gn.id}" (${step.name}) failed: ${message}`, cause: error, ...keptLog(message), ...(hint !== undefined ? { hint } : {}) })
      }
      if (readdirSync(outDir).length === 0) {
        return yield* new StepFailedError({ nodeId: gn.id, message: `step "${gn.id}" (${step.name}) wrote no output`, ...keptLog("the step wrote no output"), hint: "a step must write its artifact under ctx.outDir" })
      }
      const entry = yield* commitOutput(layout, action, { outDir, logPath, ms: Date.now() - started })
      return { entry, ran: true }
    }),
  )
