// N model sessions behind one `run`: one in this thread, or in worker threads (always for several)
// sharing the intra-op threads between them. Requests queue and go to whichever session is free first.
import { availableParallelism } from "node:os"
import { RuntimeError } from "./errors.ts"
import { type ModelSession, openModelSession, type RunRequest, type RunResult } from "./model-session.ts"
import { toSessionSettings } from "./session-options.ts"
import type { SessionOptionsSpec } from "./runtime-config.ts"
import { openWorkerSession } from "./worker-session.ts"

export interface SessionPoolOptions {
  /** Intra-op threads in total, split evenly between instances (at least one each). Default: every core. */
  readonly threads?: number
  /** Concurrent sessions; > 1 puts each in a worker thread. Default 1 (in this thread). */
  readonly instances?: number
  /** Put even a single session in a worker thread, so ORT's blocking run never stalls this thread (a server). */
  readonly workers?: boolean
}

export interface SessionPool extends ModelSession {
  readonly instances: number
  /** Intra-op threads each session was given. */
  readonly threadsPerInstance: number
  /** Requests each instance has run so far (how the work was spread). */
  readonly runsPerInstance: readonly number[]
}

interface Queued {
  readonly request: RunRequest
  readonly resolve: (result: RunResult) => void
  readonly reject: (error: unknown) => void
}

const positiveInteger = (value: number | undefined, name: string, fallback: number): number => {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 1) throw new RuntimeError("invalid-option", `option "${name}": ${value}, expected a positive integer`)
  return value
}

export const openSessionPool = async (modelPath: string, spec: SessionOptionsSpec, options: SessionPoolOptions = {}): Promise<SessionPool> => {
  const instances = positiveInteger(options.instances, "instances", 1)
  const threads = positiveInteger(options.threads, "threads", spec.intraOpNumThreads ?? availableParallelism())
  const threadsPerInstance = Math.max(1, Math.floor(threads / instances))
  const settings = toSessionSettings({ ...spec, intraOpNumThreads: threadsPerInstance }, threadsPerInstance)
  const opened = await Promise.allSettled(
    Array.from({ length: instances }, () => (instances === 1 && options.workers !== true ? openModelSession(modelPath, settings) : openWorkerSession(modelPath, settings))),
  )
  const sessions = opened.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []))
  const failure = opened.find((o) => o.status === "rejected")
  if (failure !== undefined) {
    await Promise.all(sessions.map((s) => s.close()))
    throw failure.reason
  }

  const idle = sessions.map((_, i) => i)
  const runs = sessions.map(() => 0)
  const queue: Queued[] = []
  const inFlight = new Set<Promise<void>>()
  let closed = false
  const dispatch = (): void => {
    while (idle.length > 0 && queue.length > 0) {
      const index = idle.pop()!
      const job = queue.shift()!
      runs[index] = (runs[index] as number) + 1
      const running = sessions[index]!
        .run(job.request)
        .then(job.resolve, job.reject)
        .finally(() => {
          inFlight.delete(running)
          idle.push(index)
          dispatch()
        })
      inFlight.add(running)
    }
  }
  return {
    instances,
    threadsPerInstance,
    runsPerInstance: runs,
    run(request) {
      if (closed) return Promise.reject(new RuntimeError("closed", `${modelPath}: the session pool is closed`, { path: modelPath }))
      return new Promise<RunResult>((resolve, reject) => {
        queue.push({ request, resolve, reject })
        dispatch()
      })
    },
    async close() {
      if (closed) return
      closed = true
      const error = new RuntimeError("closed", `${modelPath}: the session pool was closed before this request ran`, { path: modelPath })
      for (const job of queue.splice(0)) job.reject(error)
      // Requests already running finish first: releasing a session under a run is undefined in ORT.
      await Promise.allSettled([...inFlight])
      await Promise.all(sessions.map((s) => s.close()))
    },
  }
}
