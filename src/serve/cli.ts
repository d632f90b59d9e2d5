// `kiln serve <deployment dir | pipeline.ts#node> [flags] [-- pipeline flags]`: resolves the
// deployment, serves it until SIGTERM / SIGINT, then drains (new requests get 503, those in flight
// finish) and exits 0. The server's lifetime is a scoped Effect: whatever ends the program, the
// release step shuts the server down and closes the model.
import { parseArgs } from "node:util"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Cause from "effect/Cause"
import { resolveDeployment } from "./deployment-source.ts"
import { ServeError } from "./errors.ts"
import { ServeOptions, type ServeOptionsInput } from "./options.ts"
import { startServer } from "./server.ts"

export const SERVE_USAGE = `Usage: bun run kiln serve <deployment dir | pipeline.ts#node> [flags] [-- pipeline run flags]

Serves a deployment over HTTP: POST /v1/embeddings (OpenAI), /embed, /embed_sparse, /rerank (TEI);
GET /health, /info, /metrics (Prometheus), /docs (OpenAPI). pipeline.ts#node runs the pipeline file
up to that deploy node (or takes it from the cache) first; flags after -- go to its run CLI.

Flags:
  --port N                 listen port (default 8080; 0 picks a free one)
  --host H                 listen address (default 127.0.0.1)
  --model-id ID            name in /info and OpenAI responses (default: the folder or node name)
  --max-batch-tokens N     padded tokens (rows × longest row) per model batch (default 256)
  --max-wait-ms MS         longest a queued row waits for a fuller batch while one runs (default 2)
  --max-queue N            rows waiting before requests get 429 + Retry-After (default 4096)
  --max-items N            texts or pairs per request (default 2048)
  --max-body-bytes N       request body limit (default 2097152)
  --timeout-ms MS          per-request limit: body 408, queue + run 503 (default 30000)
  --drain-timeout-ms MS    on SIGTERM, how long in-flight requests get (default 30000)
  --threads N              intra-op threads in total (default: every core)
  --instances N            concurrent sessions on cpu, each in a worker thread (default 1)
  --no-access-log          no JSON access log on stderr`

interface Writable {
  write(text: string): unknown
}

const integerFlags = {
  port: "port",
  "max-batch-tokens": "maxBatchTokens",
  "max-wait-ms": "maxWaitMs",
  "max-queue": "maxQueueRows",
  "max-items": "maxItems",
  "max-body-bytes": "maxBodyBytes",
  "timeout-ms": "timeoutMs",
  "drain-timeout-ms": "drainTimeoutMs",
  threads: "threads",
  instances: "instances",
} as const satisfies Record<string, keyof ServeOptionsInput>

const parseServeArgs = (argv: readonly string[]): { source: string | undefined; options: ServeOptionsInput; pipelineArgs: string[]; help: boolean } => {
  const split = argv.indexOf("--")
  const own = split < 0 ? argv : argv.slice(0, split)
  const pipelineArgs = split < 0 ? [] : argv.slice(split + 1)
  const { values, positionals } = parseArgs({
    args: [...own],
    strict: true,
    allowPositionals: true,
    options: {
      ...Object.fromEntries(Object.keys(integerFlags).map((flag) => [flag, { type: "string" as const }])),
      host: { type: "string" },
      "model-id": { type: "string" },
      "no-access-log": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  })
  const options: Record<string, unknown> = {}
  for (const [flag, key] of Object.entries(integerFlags)) {
    const raw = (values as Record<string, unknown>)[flag]
    if (typeof raw !== "string") continue
    const value = Number(raw)
    if (raw.trim() === "" || !Number.isFinite(value)) throw new ServeError("invalid-option", `--${flag} ${raw}: expected a number`)
    options[key] = value
  }
  if (typeof values.host === "string") options.host = values.host
  if (typeof values["model-id"] === "string") options.modelId = values["model-id"]
  if (values["no-access-log"] === true) options.accessLog = false
  if (positionals.length > 1) throw new ServeError("invalid-option", `expected one deployment, got ${positionals.length}: ${positionals.join(" ")}`)
  return { source: positionals[0], options: options as ServeOptionsInput, pipelineArgs, help: values.help === true }
}

const flagFor = (key: string): string => Object.entries(integerFlags).find(([, k]) => k === key)?.[0] ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

/** Resolves when the process gets SIGTERM or SIGINT (the name of the signal). */
const termination = Effect.callback<string>((resume) => {
  const on = (signal: string) => () => resume(Effect.succeed(signal))
  const term = on("SIGTERM")
  const int = on("SIGINT")
  process.once("SIGTERM", term)
  process.once("SIGINT", int)
  return Effect.sync(() => {
    process.off("SIGTERM", term)
    process.off("SIGINT", int)
  })
})

const asServeError = (cause: unknown): ServeError => (cause instanceof ServeError ? cause : new ServeError("load-failed", cause instanceof Error ? cause.message : String(cause), { cause }))

/** Runs `kiln serve` and returns the exit code once the server has drained. */
export const serveCli = async (argv: readonly string[], out: Writable = process.stdout, err: Writable = process.stderr): Promise<number> => {
  let args
  try {
    args = parseServeArgs(argv)
  } catch (e) {
    err.write(`error: kiln serve: ${(e as Error).message}\n`)
    return 2
  }
  if (args.help) {
    out.write(SERVE_USAGE + "\n")
    return 0
  }
  if (args.source === undefined) {
    err.write(`error: kiln serve: expected a deployment folder or pipeline.ts#node\n${SERVE_USAGE}\n`)
    return 2
  }
  const checked = ServeOptions.safeParse(args.options)
  if (!checked.success) {
    const issue = checked.error.issues[0]
    err.write(`error: kiln serve: --${flagFor(String(issue?.path[0] ?? ""))}: ${issue?.message ?? "invalid"}\n`)
    return 2
  }
  const source = args.source
  const program = Effect.gen(function* () {
    const deployment = yield* Effect.tryPromise({ try: () => resolveDeployment(source, args.pipelineArgs, err), catch: asServeError })
    const options = { ...args.options, modelId: args.options.modelId ?? deployment.node }
    const server = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => startServer(deployment.dir, options), catch: asServeError }),
      (running) =>
        Effect.tryPromise({ try: () => running.shutdown(), catch: asServeError }).pipe(
          Effect.catch((e) => Effect.sync(() => err.write(`kiln serve: shutdown: ${e.message}\n`))),
        ),
    )
    out.write(`kiln serve: ${server.model.id} (${server.model.config.task}) listening on ${server.url}\n`)
    const signal = yield* termination
    out.write(`kiln serve: ${signal}: draining in-flight requests, refusing new ones\n`)
  })
  // Closing the model awaits ONNX Runtime's native release, which holds no event-loop handle: without
  // this timer the loop could empty mid-shutdown and the process exit 0 before saying "stopped".
  const keepAlive = setInterval(() => {}, 1 << 30)
  const exit = await Effect.runPromiseExit(Effect.scoped(program)).finally(() => clearInterval(keepAlive))
  if (Exit.isSuccess(exit)) {
    out.write("kiln serve: stopped\n")
    return 0
  }
  const error = Cause.squash(exit.cause)
  err.write(`error: kiln serve: ${error instanceof Error ? error.message : String(error)}\n`)
  return 1
}
