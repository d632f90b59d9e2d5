// Executors by URL scheme: one line per executor. `--executor URL` / KILN_EXECUTOR picks one; each
// is loaded only when a run asks for it (the BullMQ client stays out of local runs).
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Executor, PipelineDefinitionError } from "../engine/index.ts"
import type { RemoteTier } from "../store/index.ts"
import type { ExecutorContext, OpenedExecutor } from "./opened.ts"

const executors: Record<string, (url: string, ctx: ExecutorContext) => Promise<OpenedExecutor>> = {
  "redis:": (url, ctx) => import("./bullmq/index.ts").then((m) => m.openBullmq(url, ctx)),
  "rediss:": (url, ctx) => import("./bullmq/index.ts").then((m) => m.openBullmq(url, ctx)),
}

export const executorSchemes = (): string[] => Object.keys(executors).map((s) => s.replace(/:$/, ""))

/** The executor `url` names, connected; or an error sentence naming the URL and what is accepted. */
export const openExecutor = async (text: string, remote: RemoteTier | undefined, env: Record<string, string | undefined>): Promise<OpenedExecutor | { readonly error: string; readonly hint?: string }> => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return { error: `--executor ${text}: not a URL (expected e.g. redis://queue-host:6379)` }
  }
  const open = executors[url.protocol]
  if (open === undefined) return { error: `--executor ${text}: unsupported scheme "${url.protocol.replace(/:$/, "")}" (supported: ${executorSchemes().join(", ")})` }
  if (remote === undefined) {
    return {
      error: `--executor ${text} needs a remote cache: artifacts travel between this run and the workers only through it`,
      hint: "pass --remote-cache URL (or KILN_REMOTE_CACHE) and set KILN_CACHE_SIGNING_KEY, the same as the workers'",
    }
  }
  try {
    return await open(text, { remote, env })
  } catch (e) {
    return { error: `--executor ${text}: ${(e as Error).message}` }
  }
}

/** The run's Executor service for `--executor URL`: connected when the run starts, closed when it ends. */
export const executorLayer = (url: string, remote: RemoteTier | undefined, env: Record<string, string | undefined>): Layer.Layer<Executor, PipelineDefinitionError> =>
  Layer.effect(Executor)(
    Effect.acquireRelease(
      Effect.tryPromise({ try: () => openExecutor(url, remote, env), catch: (e) => new PipelineDefinitionError({ message: `--executor ${url}: ${(e as Error).message}` }) }).pipe(
        Effect.flatMap((opened) => ("error" in opened ? Effect.fail(new PipelineDefinitionError({ message: opened.error, hint: opened.hint ?? "see --help" })) : Effect.succeed(opened))),
      ),
      (opened) => Effect.promise(() => opened.close()),
    ).pipe(Effect.map((opened) => opened.executor)),
  )
