// `kiln worker`: pulls jobs from the queues of the resource classes it advertises and runs each
// step through the same code path as a local run (the engine's executeStep: resource permit,
// scoped work dir, commit to this worker's own cache), with inputs brought from the remote cache
// and the output uploaded to it (blobs first, signed entry last) before the job is reported done.
// It refuses a job whose code digest differs from its own checkout's, naming both digests, and
// re-checks the remote cache first (another worker may have built the action meanwhile). Only
// failures marked transient are retried (BullMQ attempts); a worker killed mid-step leaves its job
// to BullMQ's stalled-job check, which hands it to another worker.
import { readFileSync } from "node:fs"
import { hostname } from "node:os"
import { resolve } from "node:path"
import { parseArgs } from "node:util"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { type Job, Queue, UnrecoverableError, Worker } from "bullmq"
import IORedis from "ioredis"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import { lookupAction } from "../../cache/action-cache.ts"
import { resolveCacheRoot } from "../../cache/layout.ts"
import { materialiseTree, type TreeDigest } from "../../cache/tree.ts"
import type { Action, Resolved } from "../../engine/action.ts"
import { type ActionKeyInputs, actionKey, CACHE_SCHEMA_VERSION, canonicalJson, explainCodeChange, sha256Hex } from "../../engine/action-key.ts"
import { type CodeDigest, makeCodeDigester } from "../../engine/code/index.ts"
import { StepFailedError } from "../../engine/errors.ts"
import type { RunEventSink } from "../../engine/events.ts"
import { executeStep } from "../../engine/execute.ts"
import { makeNode } from "../../engine/node.ts"
import { openCache } from "../../engine/open-cache.ts"
import { stepIdentity } from "../../engine/reproducibility.ts"
import { makeScheduler } from "../../engine/scheduler.ts"
import { failureText } from "../../engine/step-failure.ts"
import { openSignedEntry, openStore, pullTree, pushAction, type RemoteTier } from "../../store/index.ts"
import { describeIssues } from "../../schema/index.ts"
import { CLASSES_KEY, connectionOf, type JobData as JobDataT, JobData, type JobFailure, type JobResult, queueName, RESOURCE_CLASS_EXPECTED, ResourceClassName } from "./jobs.ts"
import { loadStep, projectRoot } from "./step-location.ts"

export const WORKER_USAGE = `Usage: bun run kiln worker --queue redis://host:6379 --remote-cache URL [options]

Runs pipeline steps queued by \`bun run <pipeline> --executor redis://…\`: takes jobs from the
queues of the resource classes it has, brings inputs from the remote cache, runs the step as a
local run would, and uploads the output (signed with $KILN_CACHE_SIGNING_KEY, required).

Options:
  --queue URL             the Redis the schedulers queue on (default: $KILN_EXECUTOR)
  --remote-cache URL      the shared cache artifacts travel through (default: $KILN_REMOTE_CACHE)
  --resources LIST        resource classes served, e.g. cpu,device:vacc,measure (default: cpu)
  --concurrency N         steps run at once (default: 1); device steps one per die, measurements alone
  --cache-dir DIR         this worker's local cache (default: $KILN_CACHE_DIR, else ~/.cache/kiln)
  --name NAME             how runs and \`kiln queue status\` name this worker (default: host:pid)
  --root DIR              the checkout whose step modules run (default: the one this command runs from)
  --help                  show this help`

interface WorkerArgs {
  readonly queue: string
  readonly remote: RemoteTier
  readonly resources: readonly string[]
  readonly concurrency: number
  readonly cacheRoot: string
  readonly name: string
  readonly root: string
}

type Out = { write(s: string): unknown }

const parseWorkerArgs = (argv: readonly string[], env: Record<string, string | undefined>): WorkerArgs | { readonly help: true } | { readonly error: string } => {
  let values
  try {
    ;({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: "boolean", short: "h" },
        queue: { type: "string" },
        "remote-cache": { type: "string" },
        resources: { type: "string" },
        concurrency: { type: "string" },
        "cache-dir": { type: "string" },
        name: { type: "string" },
        root: { type: "string" },
      },
    }))
  } catch (e) {
    return { error: (e as Error).message }
  }
  if (values.help === true) return { help: true }
  const queue = values.queue ?? env.KILN_EXECUTOR
  if (queue === undefined || !/^rediss?:\/\//.test(queue)) return { error: `--queue ${queue ?? "(missing)"}: expected the Redis URL the schedulers use, e.g. redis://queue-host:6379` }
  const remoteUrl = values["remote-cache"] ?? env.KILN_REMOTE_CACHE
  if (remoteUrl === undefined || remoteUrl.trim() === "") return { error: "--remote-cache is required: artifacts travel between schedulers and workers only through the remote cache" }
  const store = openStore(remoteUrl.trim(), env)
  if ("error" in store) return store
  const signingKey = env.KILN_CACHE_SIGNING_KEY
  if (signingKey === undefined || signingKey === "") return { error: "KILN_CACHE_SIGNING_KEY is not set: a worker uploads signed entries, with the same key as the schedulers" }
  const resources = [...new Set((values.resources ?? "cpu").split(",").map((r) => r.trim()))]
  for (const r of resources) {
    if (!ResourceClassName.safeParse(r).success) return { error: `--resources: "${r}" is not a resource class: ${RESOURCE_CLASS_EXPECTED}` }
  }
  const concurrency = values.concurrency === undefined ? 1 : Number(values.concurrency)
  if (!Number.isInteger(concurrency) || concurrency < 1) return { error: `--concurrency ${values.concurrency}: expected a positive integer` }
  const root = values.root !== undefined ? resolve(values.root) : projectRoot(import.meta.path)
  if (root === undefined) return { error: "cannot find this checkout's root (no package.json above the worker); pass --root" }
  return {
    queue,
    remote: { store, signingKey, upload: true },
    resources,
    concurrency,
    cacheRoot: resolve(resolveCacheRoot(values["cache-dir"], env)),
    name: values.name ?? `${hostname()}:${process.pid}`,
    root,
  }
}

const platform = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)

/** A failure the scheduler can show: JSON in BullMQ's failed reason; retried only when transient. */
const failJob = (failure: JobFailure, transient: boolean): Error => {
  const reason = JSON.stringify(failure)
  return transient ? new Error(reason) : new UnrecoverableError(reason)
}

const tailOf = (path: string | undefined): string[] => {
  if (path === undefined) return []
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-20)
  } catch {
    return []
  }
}

const isTransient = (error: unknown): boolean => {
  for (let e = error as { transient?: unknown; cause?: unknown } | undefined, depth = 0; e !== undefined && e !== null && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.transient === true) return true
  }
  return false
}

/** Runs the worker until SIGINT / SIGTERM (then it finishes its current jobs). Returns the exit code. */
export const workerCli = async (argv: readonly string[], out: Out, err: Out, env: Record<string, string | undefined> = process.env): Promise<number> => {
  const args = parseWorkerArgs(argv, env)
  if ("help" in args) {
    out.write(WORKER_USAGE + "\n")
    return 0
  }
  if ("error" in args) {
    err.write(`error: kiln worker: ${args.error}\n  hint: see bun run kiln worker --help\n`)
    return 2
  }
  const { name: host, remote } = args
  const say = (line: string) => void out.write(`${new Date().toISOString()} ${host} ${line}\n`)

  const redis = new IORedis(args.queue, { ...connectionOf(args.queue), lazyConnect: true })
  redis.on("error", () => undefined)
  try {
    await Promise.race([redis.connect(), Bun.sleep(5_000).then(() => Promise.reject(new Error("no answer within 5 s")))])
    await redis.sadd(CLASSES_KEY, ...args.resources)
  } catch (e) {
    redis.disconnect()
    err.write(`error: kiln worker: cannot reach the queue at ${args.queue}: ${(e as Error).message}\n`)
    return 1
  }

  // The worker's cache (its run temp dir, the stat memo) and resource scheduler live as long as the worker.
  const lifetime = Scope.makeUnsafe()
  const opened = await Effect.runPromiseExit(
    Effect.gen(function* () {
      const cache = yield* openCache(args.cacheRoot)
      const scheduler = yield* makeScheduler(args.concurrency, args.concurrency)
      return { cache, scheduler }
    }).pipe(Scope.provide(lifetime), Effect.provide(platform)),
  )
  if (Exit.isFailure(opened)) {
    err.write(`error: kiln worker: ${(Cause.squash(opened.cause) as Error).message}\n`)
    redis.disconnect()
    await Effect.runPromise(Scope.close(lifetime, Exit.void))
    return 1
  }
  const { cache, scheduler } = opened.value
  const { layout } = cache
  const digester = makeCodeDigester({ stateDir: layout.code })
  /** Code digests of the modules this worker loaded, computed when first loaded (the code it runs). */
  const codeOf = new Map<string, CodeDigest>()
  const events: RunEventSink = {
    emit: (event) =>
      Effect.sync(() => {
        if (event.type === "log") say(`${event.id}: ${event.line}`)
      }),
  }

  const process_ = async (job: Job): Promise<JobResult> => {
    const started = Date.now()
    const parsed = JobData.safeParse(job.data)
    if (!parsed.success) throw failJob({ message: `job ${job.id} is not a kiln job: ${describeIssues(parsed.error, job.data, { rootName: "job data" })}`, host, logTail: [] }, false)
    const data: JobDataT = parsed.data
    const label = `step "${data.node}" (${data.step})`
    const loaded = await loadStep(args.root, data.module, data.export, data.step).catch((e: Error) => ({ error: e.message }))
    if ("error" in loaded) throw failJob({ message: `${label}: worker ${host} cannot load it: ${loaded.error}`, hint: "run workers from a checkout of the same commit as the pipeline", host, logTail: [] }, false)
    let code = codeOf.get(loaded.path)
    if (code === undefined) {
      await digester.prepare([loaded.path])
      code = digester.digestOf(loaded.path)
      codeOf.set(loaded.path, code)
    }
    const mine = sha256Hex(canonicalJson(code))
    const theirs = sha256Hex(canonicalJson(data.code))
    if (mine !== theirs) {
      throw failJob(
        {
          message: `${label}: worker ${host} refuses the job: its code digest ${mine.slice(0, 16)}… differs from the scheduler's ${theirs.slice(0, 16)}… (${explainCodeChange(data.code, code).join("; ")})`,
          hint: "run workers from a checkout of the same commit (and bun.lock) as the pipeline",
          host,
          logTail: [],
        },
        false,
      )
    }
    const keyInputs: ActionKeyInputs = { cacheSchema: CACHE_SCHEMA_VERSION, step: loaded.step.name, version: loaded.step.version, params: data.params, inputs: data.inputs, fingerprint: data.fingerprint, code }
    if (actionKey(keyInputs) !== data.key) {
      throw failJob({ message: `${label}: worker ${host} refuses the job: the action key it computes differs from the job's (step version or cache schema differ)`, hint: "run workers from a checkout of the same commit as the pipeline", host, logTail: [] }, false)
    }
    // Another worker (or an earlier run) may have built it: a signed remote entry is enough.
    if (!data.forced) {
      const there = await Effect.runPromise(Effect.match(remote.store.getAction(data.key), { onSuccess: (b) => b, onFailure: () => undefined }))
      if (there !== undefined && "entry" in openSignedEntry(remote.signingKey, data.key, there)) return { host, ran: false, ms: Date.now() - started }
    }
    const run = Effect.gen(function* () {
      const inputs: Record<string, Resolved> = {}
      for (const [name, digest] of Object.entries(data.inputs)) {
        const problem = yield* pullTree(layout, remote, digest)
        if (problem !== undefined) return yield* new StepFailedError({ nodeId: data.node, message: `${label}: input ${name} could not be brought from the remote cache: ${problem}` })
        const path = yield* materialiseTree(layout, digest as TreeDigest)
        // Only path and output are read by the step run; identities are the scheduler's concern (lock file).
        inputs[name] = { key: digest, keyInputs, identity: stepIdentity("portable", keyInputs, {}), output: digest as TreeDigest, path } as unknown as Resolved
      }
      // The resource class this worker holds while it runs, as the step chooses it from params and input folders.
      const paths = Object.fromEntries(Object.entries(inputs).map(([name, r]) => [name, r.path]))
      const resources = typeof loaded.step.resources === "function" ? loaded.step.resources(data.params, paths) : loaded.step.resources
      const action: Action = { key: data.key as Action["key"], keyInputs, identity: stepIdentity(loaded.step.reproducible, keyInputs, {}), fingerprint: data.fingerprint, resources }
      const node = { id: data.node, node: makeNode(loaded.step, data.params, {}, data.node), inputs: {} }
      const local = lookupAction(layout, data.key)
      const { entry, ran } = local !== undefined && !data.forced ? { entry: local, ran: false } : yield* executeStep({ layout, scheduler, events, node, params: data.params, inputs, action, reason: `job from the queue`, forced: data.forced })
      const warnings: string[] = []
      yield* pushAction(layout, remote, entry, (line) => Effect.sync(() => void warnings.push(line)))
      if (warnings.length > 0) return yield* Effect.fail({ upload: warnings.join("; ") })
      return ran
    })
    say(`${label}: started (job ${data.key.slice(0, 12)}…, attempt ${job.attemptsMade + 1})`)
    const exit = await Effect.runPromiseExit(run.pipe(Effect.scoped, Effect.provide(platform)))
    if (Exit.isSuccess(exit)) {
      say(`${label}: done in ${Date.now() - started} ms`)
      return { host, ran: exit.value, ms: Date.now() - started }
    }
    const error = Cause.squash(exit.cause)
    if (typeof error === "object" && error !== null && "upload" in error) {
      say(`${label}: upload failed: ${(error as { upload: string }).upload}`)
      throw failJob({ message: `${label}: worker ${host} ran it but could not upload the result: ${(error as { upload: string }).upload}`, host, logTail: [] }, true)
    }
    const { message, hint } = failureText(error)
    const transient = isTransient(error) || (error instanceof StepFailedError && error.message.includes("could not be brought from the remote cache"))
    say(`${label}: failed${transient ? " (transient: may be retried)" : ""}: ${message}`)
    throw failJob({ message, ...(hint !== undefined ? { hint } : {}), host, logTail: tailOf(error instanceof StepFailedError ? error.logPath : undefined) }, transient)
  }

  const lockDuration = Number(env.KILN_WORKER_LOCK_MS ?? 30_000)
  const workers = args.resources.map(
    (resource) =>
      new Worker(queueName(resource), process_, {
        connection: connectionOf(args.queue),
        concurrency: args.concurrency,
        name: host,
        // A worker that dies (kill -9) stops renewing its lock: after `lockDuration` the stalled-job
        // check hands the job to another worker (once; a job that stalls twice fails).
        lockDuration,
        stalledInterval: lockDuration,
        maxStalledCount: 1,
      }),
  )
  for (const w of workers) w.on("error", (e) => say(`queue error: ${e.message}`))
  await Promise.all(workers.map((w) => w.waitUntilReady()))
  // Listening means schedulers can see it (they count a queue's workers to tell a starved class):
  // wait until each queue lists this worker's blocking connection.
  for (const resource of args.resources) {
    const queue = new Queue(queueName(resource), { connection: connectionOf(args.queue) })
    for (let i = 0; i < 200; i++) {
      const names = (await queue.getWorkers()).map((c) => String((c as { rawname?: string }).rawname ?? ""))
      if (names.some((n) => n.endsWith(`:w:${host}`))) break
      await Bun.sleep(50)
    }
    await queue.close()
  }
  say(`serving ${args.resources.join(", ")} from ${args.queue} (concurrency ${args.concurrency}, cache ${args.cacheRoot}, remote ${remote.store.describe})`)
  await new Promise<void>((done) => {
    process.once("SIGINT", done)
    process.once("SIGTERM", done)
  })
  say("stopping: finishing current jobs")
  await Promise.allSettled(workers.map((w) => w.close()))
  redis.disconnect()
  await Effect.runPromise(Scope.close(lifetime, Exit.void))
  return 0
}
