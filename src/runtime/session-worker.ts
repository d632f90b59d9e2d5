// Worker-thread entry: hosts one ModelSession so ORT's blocking `run` happens off the main
// thread. Protocol: open → opened | failed; run(id) → result(id) | failed(id); close → closed.
import type { OrtSessionSettings } from "../onnx/index.ts"
import { messageOf } from "./errors.ts"
import { type ModelSession, openModelSession, type RunRequest } from "./model-session.ts"

export type WorkerRequest =
  | { readonly type: "open"; readonly modelPath: string; readonly settings: OrtSessionSettings }
  | { readonly type: "run"; readonly id: number; readonly request: RunRequest }
  | { readonly type: "close" }

export type WorkerReply =
  | { readonly type: "opened" }
  | { readonly type: "result"; readonly id: number; readonly result: import("./model-session.ts").RunResult }
  | { readonly type: "failed"; readonly id: number | null; readonly message: string }
  | { readonly type: "closed" }

declare const self: Worker

let session: ModelSession | undefined
const reply = (message: WorkerReply): void => self.postMessage(message)

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const message = event.data
  try {
    if (message.type === "open") {
      session = await openModelSession(message.modelPath, message.settings)
      reply({ type: "opened" })
    } else if (message.type === "run") {
      if (session === undefined) throw new Error("run before open")
      reply({ type: "result", id: message.id, result: await session.run(message.request) })
    } else {
      await session?.close()
      session = undefined
      reply({ type: "closed" })
    }
  } catch (cause) {
    reply({ type: "failed", id: message.type === "run" ? message.id : null, message: messageOf(cause) })
  }
}
