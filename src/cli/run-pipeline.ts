// The command line every pipeline file gets: `bun run pipelines/x.ts [--dry-run …]`. Parses
// flags, builds the graph, runs it with the Node platform layers, renders events, writes the
// lock file, and turns every user-facing error into a message and an exit code — no stack traces.
import { createHash } from "node:crypto"
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import { cacheLayout, resolveCacheRoot } from "../cache/layout.ts"
import { type RunStep, writeRunRecord } from "../cache/run-records.ts"
import { sweepReleasedRunTmp } from "../cache/run-tmp.ts"
import { buildGraph, toMermaid } from "../engine/graph.ts"
import { RunEvents, type NodeResult, type RunEventSink } from "../engine/events.ts"
import { lockFilePath, mergeLock, readLockFile, writeLockFile } from "../engine/lock-file.ts"
import type { Pipeline } from "../engine/pipeline.ts"
import { runGraph } from "../engine/runtime.ts"
import { executorLayer } from "../executors/index.ts"
import { openStore, RemoteCache, type RemoteTier } from "../store/index.ts"
import type { Kind } from "../engine/step-definition.ts"
import { describeResult, plainRenderer, ttyRenderer } from "./render.ts"
import { parseRunArgs, RUN_USAGE, type RunArgs } from "./run-args.ts"

interface Writable {
  write(text: string): unknown
  readonly isTTY?: boolean
}

export interface ExecuteOptions {
  readonly stdout?: Writable
  readonly stderr?: Writable
  /** Replaces the real filesystem (tests inject faults). */
  readonly fileSystem?: Layer.Layer<FileSystem.FileSystem>
  /** Services the pipeline's steps require beyond the filesystem (e.g. a target's toolchain). */
  readonly services?: Layer.Layer<any>
  /**
   * Aborting it interrupts the run (the CLI aborts on SIGINT / SIGTERM): in-flight steps stop,
   * temp dirs go, exit code 130. Already aborted: nothing runs.
   */
  readonly signal?: AbortSignal
  /** Where KILN_REMOTE_CACHE, KILN_CACHE_SIGNING_KEY and the remote's credentials are read (default: process.env). */
  readonly env?: Record<string, string | undefined>
  /** Writes the run's report after every real run (ok or failed), from its run record. */
  readonly report?: RunReportHook
}

/** Where a run's report was written. */
export interface ReportPaths {
  readonly html: string
  readonly markdown: string
  readonly json: string
}

/**
 * A pipeline's report, built outside the cache after the run (its timeline is a measurement of
 * this run): the CLI records the run, then calls `write` with the record's id. The CLI stays
 * model-free — the pipeline file supplies the hook (stdlib's `runReport`).
 */
export interface RunReportHook {
  /** What the report shows (rows, published figures), asked once the pipeline is built; kept in the run record, so `kiln report` regenerates the same report later. */
  readonly spec?: () => unknown
  readonly write: (run: { readonly cacheRoot: string; readonly runId: string }) => Promise<ReportPaths>
}

export interface ExecuteResult {
  readonly exitCode: number
  /** What the invocation did: printed usage or the graph, a dry run, or a real run (also when it failed). */
  readonly mode: "usage" | "help" | "graph" | "dry-run" | "run"
  /** True when stdout's last line is the `--json` summary (nothing may be printed after it). */
  readonly json: boolean
  readonly summary?: { readonly pipeline: string; readonly ok: boolean; readonly steps: readonly unknown[]; readonly report?: ReportPaths }
}

const jsonStep = (r: NodeResult) => ({
  id: r.id,
  step: r.step,
  status: r.status,
  key: r.key,
  ms: r.ms,
  outputs: r.outputs,
  ...(r.reason !== undefined ? { reason: r.reason } : {}),
  ...(r.error !== undefined ? { error: r.error } : {}),
  ...(r.runsOn !== undefined ? { runsOn: r.runsOn } : {}),
  ...(r.host !== undefined ? { host: r.host } : {}),
})

const userMessage = (error: unknown): string => {
  const e = error as { message?: string; hint?: string }
  return `error: ${e?.message ?? String(error)}${e?.hint !== undefined ? `\n  hint: ${e.hint}` : ""}`
}

/** Runs a pipeline for the given argv and returns the exit code instead of exiting. */
export const executePipeline = async <K extends Kind>(p: Pipeline<K>, file: string, argv: readonly string[], options: ExecuteOptions = {}): Promise<ExecuteResult> => {
  const stdout = options.stdout ?? process.stdout
  const stderr = options.stderr ?? process.stderr
  let args
  try {
    args = parseRunArgs(argv, options.env)
  } catch (e) {
    stderr.write(userMessage(e) + "\n")
    return { exitCode: 2, mode: "usage", json: false }
  }
  if (args.help) {
    stdout.write(RUN_USAGE + "\n")
    return { exitCode: 0, mode: "help", json: false }
  }
  const human = args.json ? stderr : stdout
  let graph
  let lock
  const lockPath = lockFilePath(resolve(file), p.variant)
  try {
    graph = buildGraph(p.ends)
    lock = readLockFile(lockPath)
  } catch (e) {
    stderr.write(userMessage(e) + "\n")
    return { exitCode: 2, mode: "usage", json: false }
  }
  if (args.graph) {
    stdout.write(toMermaid(graph) + "\n")
    return { exitCode: 0, mode: "graph", json: false }
  }
  const mode = args.dryRun ? "dry-run" : "run"
  const json = args.json
  if (args.frozen && lock === undefined) {
    stderr.write(`error: --frozen: ${lockPath} does not exist\n  hint: run once without --frozen and commit the lock file\n`)
    return { exitCode: 1, mode, json: false }
  }
  const cacheRoot = resolve(resolveCacheRoot(args.cacheDir))
  // Targets read the visible dies from the environment; --devices narrows them for this run.
  if (args.devices !== undefined) process.env.VACC_VISIBLE_DEVICES = args.devices.join(",")
  const remote = remoteTier(args, options.env ?? process.env)
  if ("error" in remote) {
    stderr.write(`error: ${remote.error}\n  hint: see --help\n`)
    return { exitCode: 2, mode: "usage", json: false }
  }
  for (const line of remote.notes) human.write(`${line}\n`)
  const renderer = human.isTTY === true && !args.json ? ttyRenderer(human) : plainRenderer(human)
  const startedAt = new Date()
  const timing = new Map<string, { startMs?: number; endMs?: number }>()
  const platform = Layer.mergeAll(
    options.fileSystem ?? NodeFileSystem.layer,
    NodePath.layer,
    Layer.succeed(RunEvents)(timed(renderer, startedAt.getTime(), timing)),
    remote.layer,
    // Cache misses run on workers when --executor names a queue (a dry run executes nothing).
    args.executor !== undefined && !args.dryRun ? executorLayer(args.executor, remote.tier, options.env ?? process.env) : Layer.empty,
    options.services ?? Layer.empty,
  )
  const program = Effect.scoped(
    runGraph(graph, {
      cacheRoot,
      jobs: args.jobs,
      devices: args.devices?.length ?? 1,
      force: args.force.includes("all") ? "all" : new Set(args.force),
      until: args.until,
      overrides: args.set,
      frozen: args.frozen,
      verify: args.verify,
      dryRun: args.dryRun,
      lock,
    }),
  ).pipe(Effect.provide(platform))

  if (options.signal?.aborted === true) {
    stderr.write("interrupted: nothing ran\n")
    return { exitCode: 130, mode, json: false }
  }
  const fiber = Effect.runFork(program)
  let interrupted = false
  const interrupt = () => {
    interrupted = true
    Effect.runFork(Fiber.interrupt(fiber))
  }
  options.signal?.addEventListener("abort", interrupt, { once: true })
  const exit = await new Promise<Exit.Exit<Effect.Success<typeof program>, Effect.Error<typeof program>>>((done) => fiber.addObserver(done))
  options.signal?.removeEventListener("abort", interrupt)

  if (Exit.isFailure(exit)) {
    if (interrupted || Cause.hasInterruptsOnly(exit.cause)) {
      stderr.write("interrupted: in-flight steps were stopped and their temp files removed; nothing partial was cached\n")
      return { exitCode: 130, mode, json: false }
    }
    const error = Cause.squash(exit.cause)
    const known = typeof error === "object" && error !== null && "_tag" in error
    stderr.write((known ? userMessage(error) : `internal error: ${Cause.pretty(exit.cause)}`) + "\n")
    const summary = { pipeline: p.name, ok: false, steps: [] }
    if (args.json) stdout.write(JSON.stringify({ ...summary, error: userMessage(error) }) + "\n")
    return { exitCode: 1, mode, json, summary }
  }
  const outcome = exit.value
  if (args.dryRun) {
    for (const r of outcome.results.filter((r) => r.status === "failed")) stderr.write(describeResult(r) + "\n")
    human.write("dry run:\n" + outcome.results.map((r) => `  ${r.status === "cached" ? "cached   " : r.status === "failed" ? "failed   " : r.status === "skipped" && r.key !== "" ? "will run " : "         "}${r.id} (${r.step})${r.reason !== undefined && r.status !== "cached" ? ` — ${r.reason}` : ""}`).join("\n") + "\n")
  } else {
    for (const r of outcome.results.filter((r) => r.status === "failed")) stderr.write(describeResult(r) + "\n")
    const ran = outcome.results.filter((r) => r.status === "ran").length
    const cached = outcome.results.filter((r) => r.status === "cached").length
    const remote = outcome.results.filter((r) => r.status === "remote").length
    const failed = outcome.results.filter((r) => r.status === "failed").length
    human.write(`${p.name}: ${outcome.ok ? "ok" : "FAILED"} — ${ran} ran, ${cached} cached${remote > 0 ? `, ${remote} from the remote cache` : ""}, ${failed} failed\n`)
  }
  let report: ReportPaths | undefined
  if (!args.dryRun) {
    if (outcome.ok && !args.frozen) {
      // The artifacts are committed either way; an unwritable lock file is reported, not fatal.
      const problem = writeLockFile(lockPath, mergeLock(lock, p.name, outcome.locked, args.until !== undefined))
      if (problem !== undefined) stderr.write(`warning: ${problem}\n  hint: make the pipeline's folder writable (or run with --frozen where the lock file is only checked)\n`)
    }
    const runId = recordRun(cacheRoot, p.name, lockPath, outcome.results, { ok: outcome.ok, startedAt, timing, command: [resolve(file), ...argv], report: options.report?.spec?.() })
    if (options.report !== undefined && runId !== undefined) {
      report = await writeReport(options.report, cacheRoot, runId, options.env ?? process.env, human, stderr)
    }
  }
  const summary = { pipeline: p.name, ok: outcome.ok, steps: outcome.results.map(jsonStep), ...(report !== undefined ? { report } : {}) }
  if (args.json) stdout.write(JSON.stringify(summary) + "\n")
  return { exitCode: outcome.ok ? 0 : 1, mode, json, summary }
}

/** The remote tier the flags and environment ask for: a layer providing RemoteCache, or none. */
const remoteTier = (
  args: RunArgs,
  env: Record<string, string | undefined>,
): { readonly layer: Layer.Layer<RemoteCache> | Layer.Layer<never>; readonly tier?: RemoteTier; readonly notes: string[] } | { readonly error: string } => {
  if (args.remoteCache === undefined) return { layer: Layer.empty, notes: [] }
  const store = openStore(args.remoteCache, env)
  if ("error" in store) return store
  const signingKey = env.KILN_CACHE_SIGNING_KEY !== undefined && env.KILN_CACHE_SIGNING_KEY !== "" ? env.KILN_CACHE_SIGNING_KEY : undefined
  if (args.remoteUpload === "on" && signingKey === undefined) return { error: "--remote-upload needs KILN_CACHE_SIGNING_KEY: entries are uploaded signed" }
  if (signingKey === undefined) return { layer: Layer.empty, notes: [`note: remote cache ${store.describe} not used: KILN_CACHE_SIGNING_KEY is not set, so its entries could not be checked (nothing is read from it or uploaded)`] }
  const tier: RemoteTier = { store, signingKey, upload: args.remoteUpload !== "off" }
  return { layer: Layer.succeed(RemoteCache)(tier), tier, notes: [] }
}

const count = (results: readonly NodeResult[], status: NodeResult["status"]): number => results.filter((r) => r.status === status && r.step !== "source").length

/** Notes when each node started and finished (ms after the run started) on its way to the renderer. */
const timed = (inner: RunEventSink, t0: number, timing: Map<string, { startMs?: number; endMs?: number }>): RunEventSink => ({
  emit: (event) => {
    if (event.type === "start") timing.set(event.id, { startMs: Date.now() - t0 })
    if (event.type === "finish") timing.set(event.result.id, { ...timing.get(event.result.id), endMs: Date.now() - t0 })
    return inner.emit(event)
  },
})

const runStep = (r: NodeResult, t: { startMs?: number; endMs?: number } | undefined): RunStep => ({
  id: r.id,
  step: r.step,
  status: r.status,
  key: r.key,
  ms: r.ms,
  ...(t?.startMs !== undefined ? { startMs: t.startMs } : {}),
  ...(t?.endMs !== undefined ? { endMs: t.endMs } : {}),
  ...(r.outputs.out !== undefined ? { output: r.outputs.out.digest } : {}),
  ...(r.runsOn !== undefined ? { runsOn: r.runsOn } : {}),
  ...(r.host !== undefined ? { host: r.host } : {}),
  ...(r.reason !== undefined ? { reason: r.reason } : {}),
  ...(r.error !== undefined
    ? { error: { message: r.error.message, ...(r.error.hint !== undefined ? { hint: r.error.hint } : {}), ...(r.error.logPath !== undefined ? { logPath: r.error.logPath } : {}), ...(r.error.logTail !== undefined ? { logTail: [...r.error.logTail] } : {}) } }
    : {}),
})

/**
 * Notes which keys and trees a run used, and where its lock file is, for `kiln cache gc`; and each
 * step's outcome and timing, for its report. Returns the record's id (undefined when it could not
 * be written: bookkeeping must not fail a run).
 */
const recordRun = (
  cacheRoot: string,
  pipeline: string,
  lockPath: string,
  results: readonly NodeResult[],
  run: { readonly ok: boolean; readonly command: readonly string[]; readonly startedAt: Date; readonly timing: Map<string, { startMs?: number; endMs?: number }>; readonly report: unknown },
): string | undefined => {
  try {
    const layout = cacheLayout(cacheRoot)
    mkdirSync(layout.roots, { recursive: true })
    const used = results.filter((r) => r.status === "ran" || r.status === "cached" || r.status === "remote")
    const id = writeRunRecord(layout, {
      pipeline,
      lockFile: lockPath,
      keys: used.map((r) => r.key),
      trees: used.flatMap((r) => Object.values(r.outputs).map((o) => o.digest)),
      // For `kiln cache status`: how this run's steps were resolved.
      counts: { ran: count(results, "ran"), cached: count(results, "cached"), remote: count(results, "remote") },
      ok: run.ok,
      command: [...run.command],
      startedAt: run.startedAt.toISOString(),
      steps: results.map((r) => runStep(r, run.timing.get(r.id))),
      ...(run.report !== undefined ? { report: run.report } : {}),
    })
    writeFileSync(join(layout.roots, createHash("sha256").update(lockPath).digest("hex") + ".json"), JSON.stringify({ lockFile: lockPath }) + "\n")
    return id
  } catch {
    // Bookkeeping; a failure here must not fail a successful run.
    return undefined
  }
}

/**
 * Writes the run's report through the pipeline's hook, names it, and appends its Markdown to
 * $GITHUB_STEP_SUMMARY when set (GitHub Actions shows it on the job's page). A report that cannot
 * be written is a warning: the run's artifacts and lock file stand.
 */
const writeReport = async (hook: RunReportHook, cacheRoot: string, runId: string, env: Record<string, string | undefined>, human: Writable, stderr: Writable): Promise<ReportPaths | undefined> => {
  let paths: ReportPaths
  try {
    paths = await hook.write({ cacheRoot, runId })
  } catch (e) {
    stderr.write(`warning: the run's report could not be written: ${(e as Error).message ?? String(e)}\n  hint: regenerate it with \`bun run kiln report ${runId} --cache-dir ${cacheRoot}\`\n`)
    return undefined
  }
  human.write(`report: ${paths.html}\n`)
  const summaryFile = env.GITHUB_STEP_SUMMARY
  if (summaryFile !== undefined && summaryFile !== "") {
    try {
      appendFileSync(summaryFile, readFileSync(paths.markdown, "utf8") + "\n")
    } catch (e) {
      stderr.write(`warning: cannot append the report to GITHUB_STEP_SUMMARY (${summaryFile}): ${(e as Error).message}\n`)
    }
  }
  return paths
}

export interface ProgramOptions {
  /** The run's report (see RunReportHook). */
  readonly report?: RunReportHook
  /**
   * Prints more for people after a successful real run (e.g. a results table); not called for
   * `--help`, `--graph`, `--dry-run` or `--json`, whose output must stay exactly what they promise.
   */
  readonly afterRun?: (result: ExecuteResult) => void
}

/**
 * Runs `p` as this process's program: Ctrl-C / SIGTERM interrupt it (the `interrupted:` line,
 * temp dirs removed, exit 130), and its exit code ends the process. Every entry point goes
 * through here so they all handle signals alike.
 */
export const runAsProgram = <K extends Kind>(p: Pipeline<K>, file: string, argv: readonly string[], options: ProgramOptions = {}): void => {
  // Installed before anything starts: a signal that arrives while no listener is installed kills
  // the process at once, without the interrupted line or cleanup (a step may be under way before
  // runFork even returns). A second Ctrl-C gets the default: immediate exit.
  const controller = new AbortController()
  const stop = () => controller.abort()
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
  void executePipeline(p, file, argv, { signal: controller.signal, ...(options.report !== undefined ? { report: options.report } : {}) }).then((result) => {
    if (result.exitCode === 0 && result.mode === "run" && !result.json && options.afterRun !== undefined) {
      try {
        options.afterRun(result)
      } catch (e) {
        process.stderr.write(`error: after the run: ${(e as Error).message ?? String(e)}\n`)
        process.exit(1)
      }
    }
    // Library code abandoned by an interrupt may have written into its removed temp dir since.
    sweepReleasedRunTmp()
    process.exit(result.exitCode)
  })
}

/**
 * Runs the pipeline when its file is the program's entry point:
 * `export default main(import.meta, pipeline(...))`.
 */
export const main = <K extends Kind>(meta: { readonly main: boolean; readonly path: string }, p: Pipeline<K>, options: ProgramOptions = {}): Pipeline<K> => {
  if (meta.main) runAsProgram(p, meta.path, process.argv.slice(2), options)
  return p
}
