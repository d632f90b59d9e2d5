// The scheduler's side of the BullMQ executor. For a miss the runtime hands it, it makes sure the
// inputs are on the remote cache, enqueues one job on the queue of the step's resource class —
// job id = action key, so schedulers needing the same action share one job — and waits for the
// job's end; then it pulls the entry the worker uploaded into the local cache. It also watches
// the job while waiting: a class with no worker at all fails after a timeout naming the class; a
// job lost with Redis (a restart without persistence) is enqueued again; Ctrl-C withdraws only
// jobs no other scheduler waits for.
import { mkdirSync, writeFileSync } from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"
import { type Job, Queue, QueueEvents } from "bullmq"
import IORedis from "ioredis"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import { type Executed, StepFailedError, type StepExecution } from "../../engine/index.ts"
import { pullAction, pushTree, type RemoteTier } from "../../store/index.ts"
import { CLASSES_KEY, connectionOf, type JobData, type JobFailure, JobResult, parseFailure, queueName, resourceClassOf } from "./jobs.ts"
import type { OpenedExecutor } from "../opened.ts"
import { locateStep } from "./step-location.ts"

export interface BullmqExecutorOptions {
  readonly url: string
  readonly remote: RemoteTier
  /** How long a job may wait on a queue no worker listens to before the step fails. */
  readonly starvedAfterMs: number
}

/** Retries of a failure the worker marks transient; anything else fails at once. */
const ATTEMPTS = 3
const POLL_MS = 250

class Starved extends Error {}
class JobFailed extends Error {
  constructor(readonly failure: JobFailure) {
    super(failure.message)
  }
}

const waitersKey = (key: string) => `kiln:waiters:${key}`
const safeName = (id: string): string => id.replace(/[^A-Za-z0-9_.-]/g, "_")

export const openBullmqExecutor = async (options: BullmqExecutorOptions): Promise<OpenedExecutor> => {
  const { url, remote } = options
  const me = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`
  const redis = new IORedis(url, { ...connectionOf(url), lazyConnect: true, retryStrategy: (times) => Math.min(times * 100, 1_000) })
  redis.on("error", () => undefined) // reconnects on its own; commands wait for it
  try {
    await Promise.race([redis.connect(), Bun.sleep(5_000).then(() => Promise.reject(new Error("no answer within 5 s")))])
  } catch (e) {
    redis.disconnect()
    throw new Error(`cannot reach the queue at ${url}: ${(e as Error).message}`)
  }
  const queues = new Map<string, { readonly queue: Queue; readonly events: QueueEvents; readonly ready: Promise<unknown> }>()
  const queueOf = (resource: string) => {
    let q = queues.get(resource)
    if (q === undefined) {
      const queue = new Queue(queueName(resource), { connection: connectionOf(url) })
      const events = new QueueEvents(queueName(resource), { connection: connectionOf(url) })
      queue.on("error", () => undefined)
      events.on("error", () => undefined)
      q = { queue, events, ready: Promise.all([queue.waitUntilReady(), events.waitUntilReady(), redis.sadd(CLASSES_KEY, resource)]) }
      queues.set(resource, q)
    }
    return q
  }

  /** Enqueues the action's job unless one is queued, running or done; a failed or (for --force) finished one is replaced. */
  const enqueue = async (queue: Queue, data: JobData): Promise<Job> => {
    const existing = await queue.getJob(data.key)
    if (existing !== undefined) {
      const state = await existing.getState()
      if (state !== "failed" && !(data.forced && state === "completed")) return existing
      await existing.remove().catch(() => undefined)
    }
    return queue.add(data.step, data, {
      jobId: data.key,
      attempts: ATTEMPTS,
      backoff: { type: "exponential", delay: 500 },
      // Finished jobs stay a while: a scheduler arriving late is answered at once, and `kiln queue status` lists recent failures.
      removeOnComplete: { age: 3600, count: 10_000 },
      removeOnFail: { age: 24 * 3600, count: 1_000 },
    })
  }

  /** Waits for the job's end, polling its state besides the events (they are lost while Redis restarts). */
  const awaitJob = async (resource: string, data: JobData): Promise<JobResult> => {
    const { queue, events } = queueOf(resource)
    let job = await enqueue(queue, data)
    let finished = job.waitUntilFinished(events).then((value) => ({ value }), (error: Error) => ({ error }))
    let idleSince: number | undefined
    while (true) {
      const end = await Promise.race([finished, Bun.sleep(POLL_MS).then(() => undefined)])
      const fresh = end === undefined ? await queue.getJob(data.key) : undefined
      const state = end !== undefined ? undefined : fresh === undefined ? "unknown" : await fresh.getState()
      if (state === "unknown") {
        // Gone: Redis restarted empty, or the job was withdrawn. Ours to queue again.
        job = await enqueue(queue, data)
        finished = job.waitUntilFinished(events).then((value) => ({ value }), (error: Error) => ({ error }))
        continue
      }
      if (end === undefined && state !== "completed" && state !== "failed") {
        const waiting = state === "waiting" || state === "prioritized" || state === "delayed"
        if (waiting && (await queue.getWorkersCount()) === 0) {
          idleSince ??= Date.now()
          if (Date.now() - idleSince >= options.starvedAfterMs) {
            await withdraw(data.key, resource)
            throw new Starved(
              `no worker serves the resource class "${resource}" (queue ${queueName(resource)} on ${url}): step "${data.node}" (${data.step}) waited ${Math.round((Date.now() - idleSince) / 1000)} s`,
            )
          }
        } else idleSince = undefined
        continue
      }
      // Finished (seen by event, or by polling after a missed event: read the job again, as the
      // copy fetched before its state was asked may predate its end).
      const done = end === undefined ? await queue.getJob(data.key) : undefined
      const settled = end ?? (state === "completed" ? { value: done?.returnvalue } : { error: new Error(done?.failedReason ?? "failed") })
      if ("error" in settled) throw new JobFailed(parseFailure(settled.error.message))
      const result = JobResult.safeParse(settled.value)
      if (!result.success) throw new Error(`the job's result is not a kiln worker's: ${JSON.stringify(settled.value)?.slice(0, 200)}`)
      return result.data
    }
  }

  /** Ctrl-C: stop waiting; remove the job only when no other scheduler waits for it and no worker has started it. */
  const withdraw = async (key: string, resource: string) => {
    await redis.srem(waitersKey(key), me)
    if ((await redis.scard(waitersKey(key))) > 0) return
    const job = await queueOf(resource).queue.getJob(key)
    if (job === undefined) return
    const state = await job.getState()
    if (state === "waiting" || state === "delayed" || state === "prioritized") await job.remove().catch(() => undefined)
  }

  const execute = (x: StepExecution): Effect.Effect<Executed, StepFailedError, FileSystem.FileSystem> =>
    Effect.gen(function* () {
      const step = x.node.node.step!
      const fail = (message: string, hint?: string, logPath?: string) =>
        new StepFailedError({ nodeId: x.node.id, message, ...(hint !== undefined ? { hint } : {}), ...(logPath !== undefined ? { logPath } : {}) })
      const where = yield* Effect.tryPromise({ try: () => locateStep(step), catch: (e) => fail(`step "${x.node.id}" (${step.name}): cannot load its module: ${(e as Error).message}`) })
      if ("error" in where) return yield* fail(`step "${x.node.id}" (${step.name}): ${where.error}`, where.hint)
      for (const input of Object.values(x.inputs)) {
        const problem = yield* pushTree(x.layout, remote, input.output)
        if (problem !== undefined) return yield* fail(`step "${x.node.id}" (${step.name}): its input cannot be handed to the workers: ${problem}`, "check the remote cache (--remote-cache) is reachable and writable")
      }
      const resource = resourceClassOf(x.action.resources, x.runsOn)
      const data: JobData = {
        key: x.action.key,
        node: x.node.id,
        step: step.name,
        version: step.version,
        module: where.module,
        export: where.export,
        code: x.action.keyInputs.code,
        params: x.params,
        inputs: Object.fromEntries(Object.entries(x.inputs).map(([name, r]) => [name, r.output])),
        fingerprint: x.action.fingerprint,
        resource,
        forced: x.forced,
      }
      yield* x.events.emit({ type: "start", id: x.node.id, step: step.name, reason: `${x.reason}; queued for a ${resource} worker` })
      const outcome = yield* Effect.tryPromise({
        try: async () => {
          await queueOf(resource).ready
          await redis.multi().sadd(waitersKey(data.key), me).expire(waitersKey(data.key), 24 * 3600).exec()
          try {
            return { result: await awaitJob(resource, data) }
          } finally {
            await redis.srem(waitersKey(data.key), me).catch(() => undefined)
          }
        },
        catch: (e) => e,
      }).pipe(
        Effect.catch((e) => Effect.succeed({ error: e })),
        Effect.onInterrupt(() => Effect.promise(() => withdraw(data.key, resource).catch(() => undefined))),
      )
      if ("error" in outcome) {
        const e = outcome.error
        if (e instanceof Starved) return yield* fail(e.message, `start a worker for it: bun run kiln worker --queue ${url} --remote-cache <URL> --resources ${resource}`)
        if (e instanceof JobFailed) {
          const f = e.failure
          return yield* fail(`${f.message} (on worker ${f.host})`, f.hint, keepLog(x, f))
        }
        return yield* fail(`step "${x.node.id}" (${step.name}): the queue at ${url} failed: ${(e as Error)?.message ?? String(e)}`, "check that Redis is running and reachable")
      }
      const warnings: string[] = []
      const entry = yield* pullAction(x.layout, remote, data.key, (line) => Effect.sync(() => void warnings.push(line)))
      if (entry === undefined) {
        return yield* fail(
          `step "${x.node.id}" (${step.name}): worker ${outcome.result.host} finished, but its entry could not be brought from the remote cache${warnings.length > 0 ? `: ${warnings.join("; ")}` : ""}`,
          "check that workers and this run use the same --remote-cache and KILN_CACHE_SIGNING_KEY",
        )
      }
      return { entry, ran: outcome.result.ran, host: outcome.result.host, uploaded: true }
    })

  const close = async () => {
    for (const { queue, events } of queues.values()) await Promise.allSettled([queue.close(), events.close()])
    redis.disconnect()
  }
  return { executor: { describe: `bullmq ${url}`, execute }, close }
}

/** The worker's log tail, kept under <cache>/logs like a local failure's log (the report shows its tail). */
const keepLog = (x: StepExecution, f: JobFailure): string | undefined => {
  try {
    const dir = join(x.layout.root, "logs")
    mkdirSync(dir, { recursive: true })
    const path = join(dir, `${safeName(x.node.id)}-${x.action.key.slice(0, 16)}.log`)
    writeFileSync(path, [`(log tail from worker ${f.host})`, ...f.logTail, ""].join("\n"))
    return path
  } catch {
    return undefined
  }
}
