// Runs a pipeline graph: computes each node's action key from its params, input digests and
// fingerprint, serves hits from the cache, runs misses in scoped temp dirs under a per-key
// cross-process lock, commits outputs (blobs → tree → action entry), and reports events.
// Independent nodes run concurrently, bounded per resource class.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FileSystem from "effect/FileSystem"
import * as Semaphore from "effect/Semaphore"
import { lookupAction, readActionEntry, writeActionEntry } from "../cache/action-cache.ts"
import { putBlobFromFile } from "../cache/blobs.ts"
import { acquireKeyLock } from "../cache/key-lock.ts"
import { cacheLayout } from "../cache/layout.ts"
import { openStatMemo } from "../cache/stat-memo.ts"
import { digestInPlace, ingestTree, materialiseTree, type TreeDigest } from "../cache/tree.ts"
import { verifyEntry } from "../cache/verify.ts"
import { type ActionKey, type ActionKeyInputs, actionKey, CACHE_SCHEMA_VERSION, explainKeyChange } from "./action-key.ts"
import { CacheError, LockDriftError, PipelineDefinitionError, StepFailedError } from "./errors.ts"
import { type NodeResult, RunEvents } from "./events.ts"
import { ancestorsOf, type Graph, type GraphNode } from "./graph.ts"
import type { LockFile } from "./lock-file.ts"
import type { ArtifactInput, ResourceClass, StepServices } from "./step.ts"
import { validateParams } from "./step.ts"

export interface RunOptions {
  readonly cacheRoot: string
  /** Concurrent CPU-heavy steps; I/O steps get twice as many, device steps one. */
  readonly jobs: number
  readonly force: ReadonlySet<string> | "all"
  readonly until?: string | undefined
  /** Per-node param overrides, merged over the params given in source, then validated. */
  readonly overrides: ReadonlyMap<string, Record<string, unknown>>
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

interface Resolved {
  readonly key: ActionKey
  readonly keyInputs: ActionKeyInputs
  readonly output: TreeDigest
  readonly path: string
}

type NodeOutcome = { readonly kind: "done"; readonly resolved: Resolved } | { readonly kind: "unknown" } | { readonly kind: "failed" }

const LOG_TAIL_LINES = 20

const tailOf = (path: string): string[] => {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-LOG_TAIL_LINES)
  } catch {
    return []
  }
}

const errorText = (error: unknown): { message: string; hint?: string } => {
  if (error !== null && typeof error === "object") {
    const e = error as { message?: unknown; hint?: unknown }
    const message = typeof e.message === "string" && e.message !== "" ? e.message : String(error)
    return typeof e.hint === "string" ? { message, hint: e.hint } : { message }
  }
  return { message: String(error) }
}

export const runGraph = (graph: Graph, options: RunOptions) =>
  Effect.gen(function* () {
    const events = yield* RunEvents
    const fs = yield* FileSystem.FileSystem
    const layout = cacheLayout(options.cacheRoot)
    yield* Effect.try({
      try: () => {
        for (const dir of [layout.root, layout.tmp, layout.locks]) mkdirSync(dir, { recursive: true })
      },
      catch: (e) => new CacheError({ message: `cache: cannot create ${layout.root}: ${(e as Error).message}`, path: layout.root, hint: "choose a writable --cache-dir" }),
    })
    const memo = yield* Effect.acquireRelease(
      Effect.try({ try: () => openStatMemo(layout.memo), catch: (e) => new CacheError({ message: `cache: cannot open stat memo ${layout.memo}: ${(e as Error).message}`, path: layout.memo }) }),
      (m) => Effect.sync(() => m.close()),
    )

    for (const id of [...(options.force === "all" ? [] : options.force), ...(options.until !== undefined ? [options.until] : []), ...options.overrides.keys()]) {
      if (!graph.byId.has(id)) {
        return yield* new PipelineDefinitionError({
          message: `unknown node "${id}"`,
          hint: `nodes of this pipeline: ${[...graph.byId.keys()].join(", ")}`,
        })
      }
    }
    const params = new Map<string, unknown>()
    for (const { id, node } of graph.nodes) {
      if (node.step === undefined) continue
      const override = options.overrides.get(id)
      const value = override === undefined ? node.params : { ...(node.params as object), ...override }
      params.set(id, yield* Effect.try({ try: () => validateParams(node.step!, id, value), catch: (e) => e as PipelineDefinitionError }))
    }

    const selected = options.until !== undefined ? ancestorsOf(graph, options.until) : new Set(graph.byId.keys())
    const semaphores: Record<ResourceClass, Semaphore.Semaphore> = {
      cpu: yield* Semaphore.make(Math.max(1, options.jobs)),
      io: yield* Semaphore.make(Math.max(2, options.jobs * 2)),
      device: yield* Semaphore.make(1),
    }
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

    const checkFrozen = (gn: GraphNode, resolved: Resolved) =>
      Effect.gen(function* () {
        if (!options.frozen) return
        const entry = options.lock?.nodes[gn.id]
        if (entry === undefined) {
          return yield* new LockDriftError({ nodeId: gn.id, message: `--frozen: node "${gn.id}" is not in the lock file`, hint: "run without --frozen and commit the updated lock file" })
        }
        if (entry.key !== resolved.key) {
          const before = readActionEntry(layout, entry.key)?.keyInputs
          const why = before !== undefined ? explainKeyChange(before, resolved.keyInputs).join("; ") : "its key differs"
          return yield* new LockDriftError({ nodeId: gn.id, message: `--frozen: node "${gn.id}" drifted from the lock file: ${why}`, hint: "run without --frozen and commit the updated lock file" })
        }
        if (entry.outputs.out !== resolved.output) {
          return yield* new LockDriftError({ nodeId: gn.id, message: `--frozen: node "${gn.id}" produced output ${resolved.output} but the lock file says ${entry.outputs.out}`, hint: "the step is not reproducible, or the lock file is stale" })
        }
      })

    const whyRun = (gn: GraphNode, key: ActionKey, keyInputs: ActionKeyInputs, forced: boolean): string => {
      if (forced) return "forced"
      const previous = options.lock?.nodes[gn.id]
      if (previous === undefined) return "not in the lock file, never run here"
      if (previous.key === key) return "its cache entry is missing or incomplete"
      const before = readActionEntry(layout, previous.key)
      if (before === undefined) return "key changed (the previous entry is no longer in this cache)"
      return explainKeyChange(before.keyInputs, keyInputs).join("; ") || "key changed"
    }

    const runSource = (gn: GraphNode) =>
      Effect.gen(function* () {
        const started = Date.now()
        const path = gn.node.source!.path
        if (!existsSync(path)) {
          return yield* new StepFailedError({ nodeId: gn.id, message: `source "${gn.id}": ${path} does not exist`, hint: "check the path given to local(...)" })
        }
        const digest = yield* Effect.try({
          try: () => digestInPlace(path, memo),
          catch: (e) => new StepFailedError({ nodeId: gn.id, message: `source "${gn.id}": cannot read ${path}: ${(e as Error).message}` }),
        })
        const keyInputs: ActionKeyInputs = { cacheSchema: CACHE_SCHEMA_VERSION, step: "source", version: 1, params: {}, inputs: { content: digest }, fingerprint: {} }
        const resolved: Resolved = { key: actionKey(keyInputs), keyInputs, output: digest, path }
        return { resolved, ms: Date.now() - started }
      })

    const runStep = (gn: GraphNode, inputs: Record<string, Resolved>, keyInputs: ActionKeyInputs, key: ActionKey, reason: string) =>
      Effect.scoped(
        Effect.gen(function* () {
          const step = gn.node.step!
          yield* acquireKeyLock(layout.locks, key, () => Effect.runSync(events.emit({ type: "waiting", id: gn.id, why: "another process is running this step" })))
          // Another runner may have committed the entry while we waited for the lock.
          const raced = options.force !== "all" && !options.force.has(gn.id) ? lookupAction(layout, key) : undefined
          if (raced !== undefined) return { entry: raced, ran: false as const }
          // Hold a permit of the step's resource class from start to commit; waiting for another
          // process's key lock (above) does not occupy one.
          const semaphore = semaphores[step.resources]
          yield* Effect.acquireRelease(semaphore.take(1), () => semaphore.release(1))
          yield* events.emit({ type: "start", id: gn.id, step: step.name, reason })
          const started = Date.now()
          const work = yield* fs.makeTempDirectoryScoped({ directory: layout.tmp, prefix: `${gn.id.replace(/[^A-Za-z0-9_.-]/g, "_")}-` }).pipe(
            Effect.mapError((e) => new CacheError({ message: `cache: cannot create a temp dir in ${layout.tmp}: ${e.message}`, path: layout.tmp })),
          )
          const outDir = join(work, "out")
          const tmpDir = join(work, "scratch")
          const logPath = join(work, "step.log")
          mkdirSync(outDir)
          mkdirSync(tmpDir)
          writeFileSync(logPath, "")
          const ctx = {
            nodeId: gn.id,
            params: params.get(gn.id),
            inputs: Object.fromEntries(Object.entries(inputs).map(([name, r]) => [name, { path: r.path, digest: r.output } satisfies ArtifactInput])),
            outDir,
            tmpDir,
            log: (line: string) =>
              Effect.gen(function* () {
                appendFileSync(logPath, line.endsWith("\n") ? line : line + "\n")
                yield* events.emit({ type: "log", id: gn.id, line })
              }),
            progress: (done: number, total: number) => events.emit({ type: "progress", id: gn.id, done, total }),
          }
          const exit = yield* Effect.exit(
            Effect.suspend(() => step.run(ctx)) as Effect.Effect<void, unknown, StepServices>,
          )
          const failedLog = (): string => {
            const dir = join(layout.root, "logs")
            mkdirSync(dir, { recursive: true })
            const kept = join(dir, `${gn.id.replace(/[^A-Za-z0-9_.-]/g, "_")}-${key.slice(0, 16)}.log`)
            writeFileSync(kept, existsSync(logPath) ? readFileSync(logPath) : "")
            return kept
          }
          if (Exit.isFailure(exit)) {
            if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt
            const error = Cause.squash(exit.cause)
            const { message, hint } = errorText(error)
            appendFileSync(logPath, `error: ${message}\n`)
            return yield* new StepFailedError({ nodeId: gn.id, message: `step "${gn.id}" (${step.name}) failed: ${message}`, cause: error, logPath: failedLog(), ...(hint !== undefined ? { hint } : {}) })
          }
          if (readdirSync(outDir).length === 0) {
            appendFileSync(logPath, "error: the step wrote no output\n")
            return yield* new StepFailedError({
              nodeId: gn.id,
              message: `step "${gn.id}" (${step.name}) wrote no output`,
              logPath: failedLog(),
              hint: `a step must write its artifact under ctx.outDir`,
            })
          }
          const tree = yield* ingestTree(layout, outDir)
          const log = yield* putBlobFromFile(layout, logPath)
          const entry = { kilnAction: 1 as const, key, keyInputs, output: tree.digest, log, ms: Date.now() - started }
          yield* writeActionEntry(layout, entry)
          return { entry, ran: true as const }
        }),
      )

    const processNode = (gn: GraphNode): Effect.Effect<void, LockDriftError | CacheError | PipelineDefinitionError, FileSystem.FileSystem | StepServices> =>
      Effect.gen(function* () {
        const stepName = gn.node.step?.name ?? "source"
        if (!selected.has(gn.id)) {
          return yield* finish({ id: gn.id, step: stepName, status: "skipped", key: "", ms: 0, outputs: {}, reason: `not needed for --until ${options.until}` }, { kind: "unknown" })
        }
        const inputs: Record<string, Resolved> = {}
        const waiting: string[] = []
        for (const [name, fromId] of Object.entries(gn.inputs)) {
          const outcome = yield* Deferred.await(outcomes.get(fromId)!)
          if (outcome.kind === "failed") {
            return yield* finish({ id: gn.id, step: stepName, status: "skipped", key: "", ms: 0, outputs: {}, reason: `input ${name} (${fromId}) failed` }, { kind: "failed" })
          }
          if (outcome.kind === "unknown") waiting.push(fromId)
          else inputs[name] = outcome.resolved
        }
        if (waiting.length > 0) {
          return yield* finish({ id: gn.id, step: stepName, status: "skipped", key: "", ms: 0, outputs: {}, reason: `will run: upstream ${waiting.join(", ")} will run first` }, { kind: "unknown" })
        }

        if (gn.node.source !== undefined) {
          const exit = yield* Effect.exit(runSource(gn))
          if (Exit.isFailure(exit)) {
            const error = Cause.squash(exit.cause) as StepFailedError
            return yield* finish({ id: gn.id, step: "source", status: "failed", key: "", ms: 0, outputs: {}, error: errorText(error) }, { kind: "failed" })
          }
          const { resolved, ms } = exit.value
          yield* checkFrozen(gn, resolved)
          locked[gn.id] = { step: "source", version: 1, key: resolved.key, fingerprint: {}, outputs: { out: resolved.output } }
          return yield* finish({ id: gn.id, step: "source", status: "cached", key: resolved.key, ms, outputs: { out: { digest: resolved.output, path: resolved.path } } }, { kind: "done", resolved })
        }

        const step = gn.node.step!
        const fingerprint = step.fingerprint?.() ?? {}
        const keyInputs: ActionKeyInputs = {
          cacheSchema: CACHE_SCHEMA_VERSION,
          step: step.name,
          version: step.version,
          params: params.get(gn.id),
          inputs: Object.fromEntries(Object.entries(inputs).map(([name, r]) => [name, r.output])),
          fingerprint,
        }
        const key = actionKey(keyInputs)
        const forced = options.force === "all" || options.force.has(gn.id)
        let hit = forced ? undefined : lookupAction(layout, key)
        if (hit !== undefined && options.verify && !verifyEntry(layout, hit)) hit = undefined

        if (options.dryRun) {
          if (hit !== undefined) {
            const resolved: Resolved = { key, keyInputs, output: hit.output as TreeDigest, path: join(layout.out, hit.output) }
            return yield* finish({ id: gn.id, step: step.name, status: "cached", key, ms: 0, outputs: { out: { digest: hit.output, path: resolved.path } }, reason: "cached" }, { kind: "done", resolved })
          }
          return yield* finish({ id: gn.id, step: step.name, status: "skipped", key, ms: 0, outputs: {}, reason: `will run: ${whyRun(gn, key, keyInputs, forced)}` }, { kind: "unknown" })
        }

        // Explaining a miss reads the previous entry; a hit (the no-op re-run) needs no reason.
        const reason = hit === undefined ? whyRun(gn, key, keyInputs, forced) : ""
        const exit = yield* Effect.exit(hit !== undefined ? Effect.succeed({ entry: hit, ran: false as const }) : runStep(gn, inputs, keyInputs, key, reason))
        if (Exit.isFailure(exit)) {
          if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt
          const error = Cause.squash(exit.cause)
          if (error instanceof CacheError) return yield* error
          const failure = error instanceof StepFailedError ? error : new StepFailedError({ nodeId: gn.id, message: errorText(error).message, cause: error })
          return yield* finish(
            {
              id: gn.id,
              step: step.name,
              status: "failed",
              key,
              ms: 0,
              outputs: {},
              error: {
                message: failure.message,
                ...(failure.hint !== undefined ? { hint: failure.hint } : {}),
                ...(failure.logPath !== undefined ? { logPath: failure.logPath, logTail: tailOf(failure.logPath) } : {}),
              },
            },
            { kind: "failed" },
          )
        }
        const { entry, ran } = exit.value
        const path = yield* materialiseTree(layout, entry.output as TreeDigest)
        const resolved: Resolved = { key, keyInputs, output: entry.output as TreeDigest, path }
        yield* checkFrozen(gn, resolved)
        locked[gn.id] = { step: step.name, version: step.version, key, fingerprint, outputs: { out: entry.output } }
        yield* finish(
          { id: gn.id, step: step.name, status: ran ? "ran" : "cached", key, ms: ran ? entry.ms : 0, outputs: { out: { digest: entry.output, path } }, ...(ran ? { reason } : {}) },
          { kind: "done", resolved },
        )
      })

    yield* Effect.forEach(graph.nodes, processNode, { concurrency: "unbounded", discard: true })
    const ordered = graph.nodes.map((gn) => results.get(gn.id)!)
    const ok = ordered.every((r) => r.status !== "failed") && (options.dryRun || options.until !== undefined || ordered.every((r) => r.status !== "skipped"))
    return { ok, results: ordered, locked } satisfies RunOutcome
  })
