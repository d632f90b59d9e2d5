// One ONNX Runtime session behind a small message-shaped interface (plain typed arrays in and
// out), so the same requests run in this thread or in a worker thread.
import * as ort from "onnxruntime-node"
import { createOrtSession, type OrtSessionSettings } from "../onnx/index.ts"
import { messageOf, RuntimeError } from "./errors.ts"

export interface FeedTensor {
  readonly dtype: "int64" | "int32"
  readonly dims: readonly number[]
  readonly data: BigInt64Array | Int32Array
}

export interface RunRequest {
  readonly feeds: Readonly<Record<string, FeedTensor>>
  /** Outputs to compute; the others are not fetched (last_hidden_state is large). */
  readonly fetches: readonly string[]
}

export interface OutputTensor {
  readonly dims: readonly number[]
  readonly data: Float32Array
}

export interface RunResult {
  readonly outputs: Readonly<Record<string, OutputTensor>>
  /** Time inside ORT's run, in microseconds. */
  readonly modelMicros: number
}

export interface ModelSession {
  run(request: RunRequest): Promise<RunResult>
  close(): Promise<void>
}

/** Opens `modelPath` (external data is found beside it) with the given session settings, in this thread. */
export const openModelSession = async (modelPath: string, settings: OrtSessionSettings): Promise<ModelSession> => {
  let session: ort.InferenceSession
  try {
    session = await createOrtSession(modelPath, settings)
  } catch (cause) {
    throw new RuntimeError("session-failed", `ONNX Runtime could not load ${modelPath}: ${messageOf(cause)}`, { path: modelPath, cause })
  }
  let closed = false
  return {
    async run(request) {
      if (closed) throw new RuntimeError("closed", `${modelPath}: the session is closed`, { path: modelPath })
      const feeds: Record<string, ort.Tensor> = {}
      for (const [name, feed] of Object.entries(request.feeds)) feeds[name] = new ort.Tensor(feed.dtype, feed.data, feed.dims)
      const started = performance.now()
      let results: ort.InferenceSession.ReturnType
      try {
        results = await session.run(feeds, [...request.fetches])
      } catch (cause) {
        const shapes = Object.entries(request.feeds).map(([name, f]) => `${name} ${f.dtype}[${f.dims.join(", ")}]`).join(", ")
        throw new RuntimeError("session-failed", `ONNX Runtime failed to run ${modelPath} on ${shapes}: ${messageOf(cause)}`, { path: modelPath, cause })
      }
      const modelMicros = (performance.now() - started) * 1000
      const outputs: Record<string, OutputTensor> = {}
      for (const name of request.fetches) {
        const tensor = results[name]
        if (tensor === undefined || !(tensor.data instanceof Float32Array)) {
          throw new RuntimeError("session-failed", `${modelPath}: output "${name}" is ${tensor === undefined ? "missing" : tensor.type}, expected float32`, { path: modelPath })
        }
        outputs[name] = { dims: tensor.dims, data: tensor.data }
      }
      return { outputs, modelMicros }
    },
    async close() {
      if (closed) return
      closed = true
      await session.release()
    },
  }
}
