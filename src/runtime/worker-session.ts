// A ModelSession that lives in a worker thread (session-worker.ts): requests are posted to it
// and answered by id, so several sessions can run at once while the main thread stays free.
import type { OrtSessionSettings } from "../onnx/index.ts"
import { RuntimeError } from "./errors.ts"
import type { ModelSession, RunRequest, RunResult } from "./model-session.ts"
import type { WorkerReply, WorkerRequest } from "./session-worker.ts"

interface Pending {
  readonly resolve: (result: RunResult) => void
  readonly reject: (error: Error) => void
}

/** Starts a worker and opens `modelPath` in it; resolves once the session is loaded. */
export const openWorkerSession = (modelPath: string, settings: OrtSessionSettings): Promise<ModelSession> =>
  new Promise((resolveOpen, rejectOpen) => {
    const worker = new Worker(new URL("./session-worker.ts", import.meta.url))
    const pending = new Map<number, Pending>()
    let nextId = 0
    let state: "opening" | "open" | "closing" | "closed" = "opening"
    let onClosed: (() => void) | undefined

    // An idle worker must not keep the process alive if the caller forgets close(); while a
    // request is pending it must, or the process could exit under an awaiting caller.
    const idle = (): void => {
      if (pending.size === 0) worker.unref()
    }
    const failAll = (error: Error): void => {
      for (const p of pending.values()) p.reject(error)
      pending.clear()
    }
    const post = (message: WorkerRequest): void => worker.postMessage(message)

    const session: ModelSession = {
      run(request: RunRequest) {
        if (state !== "open") return Promise.reject(new RuntimeError("closed", `${modelPath}: the worker session is ${state}`, { path: modelPath }))
        const id = nextId++
        return new Promise<RunResult>((resolve, reject) => {
          pending.set(id, { resolve, reject })
          worker.ref()
          // Copied, not transferred: a caller (a benchmark) may run the same request again, and
          // the inputs are tiny next to the model's work.
          post({ type: "run", id, request })
        })
      },
      close() {
        if (state === "closed" || state === "closing") return Promise.resolve()
        state = "closing"
        return new Promise<void>((resolve) => {
          onClosed = () => {
            worker.terminate()
            resolve()
          }
          post({ type: "close" })
        })
      },
    }

    worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      const reply = event.data
      if (reply.type === "opened") {
        state = "open"
        idle()
        resolveOpen(session)
      } else if (reply.type === "result") {
        pending.get(reply.id)?.resolve(reply.result)
        pending.delete(reply.id)
        idle()
      } else if (reply.type === "failed") {
        const error = new RuntimeError("session-failed", reply.message, { path: modelPath })
        if (reply.id === null) {
          if (state === "opening") {
            state = "closed"
            worker.terminate()
            rejectOpen(error)
          } else failAll(error)
        } else {
          pending.get(reply.id)?.reject(error)
          pending.delete(reply.id)
          idle()
        }
      } else {
        state = "closed"
        failAll(new RuntimeError("closed", `${modelPath}: the worker session was closed`, { path: modelPath }))
        onClosed?.()
      }
    }
    worker.onerror = (event: ErrorEvent) => {
      const error = new RuntimeError("worker-failed", `session worker for ${modelPath} failed: ${event.message}`, { path: modelPath })
      const wasOpening = state === "opening"
      state = "closed"
      failAll(error)
      worker.terminate()
      if (wasOpening) rejectOpen(error)
      onClosed?.()
    }
    post({ type: "open", modelPath, settings })
  })
