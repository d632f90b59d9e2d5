// The HTTP server on Bun.serve: routes, limits (body size, item count, per-request timeout, bounded
// queue → 429 with Retry-After), errors in each API's own shape, the access log and metrics, and a
// graceful shutdown that refuses new requests, lets those in flight finish, then closes the model.
import { type AccessLog, jsonLinesAccessLog, noAccessLog } from "./access-log.ts"
import { QueueFullError } from "./batcher.ts"
import { readJsonBody } from "./body.ts"
import { HttpError, ServeError } from "./errors.ts"
import { createMetrics, type ServeMetrics } from "./metrics.ts"
import { openApiDocument } from "./openapi.ts"
import { ServeOptions, type ServeOptionsInput } from "./options.ts"
import { openAiEmbeddings } from "./routes/openai-embeddings.ts"
import type { Dialect, PostRoute } from "./routes/route.ts"
import { teiEmbed, teiEmbedSparse } from "./routes/tei-embed.ts"
import { teiRerank } from "./routes/tei-rerank.ts"
import { loadServedModel, type ServedModel } from "./served-model.ts"

export const serveRoutes: readonly PostRoute[] = [openAiEmbeddings, teiEmbed, teiEmbedSparse, teiRerank]

const SERVER_VERSION = "1"

export interface RunningServer {
  readonly url: string
  readonly port: number
  readonly model: ServedModel
  readonly metrics: ServeMetrics
  /** Refuses new requests (503), waits for those in flight (at most drainTimeoutMs), closes the model. Idempotent. */
  shutdown(): Promise<void>
}

export interface StartServerOptions {
  /** Where the access log goes (default stderr). */
  readonly logTo?: { write(text: string): unknown }
}

const jsonResponse = (body: unknown, status = 200, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } })

const errorBody = (dialect: Dialect, error: HttpError): unknown =>
  dialect === "openai"
    ? {
        error: {
          message: error.message,
          type: error.kind === "queue-full" ? "rate_limit_error" : error.status >= 500 ? "server_error" : "invalid_request_error",
          param: error.field ?? null,
          code: error.kind,
        },
      }
    : {
        error: error.message,
        error_type: error.kind === "queue-full" ? "Overloaded" : error.kind === "unavailable" || error.kind === "timeout" ? "Unhealthy" : error.status >= 500 ? "Backend" : "Validation",
      }

const errorResponse = (dialect: Dialect, error: HttpError, extraHeaders: Record<string, string> = {}): Response =>
  jsonResponse(errorBody(dialect, error), error.status, {
    ...(error.retryAfterSeconds !== undefined ? { "retry-after": String(error.retryAfterSeconds) } : {}),
    ...extraHeaders,
  })

/** Loads the deployment in `dir` and serves it until shutdown(). */
export const startServer = async (dir: string, input: ServeOptionsInput = {}, start: StartServerOptions = {}): Promise<RunningServer> => {
  const parsed = ServeOptions.safeParse(input)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new ServeError("invalid-option", `option "${issue?.path.join(".") ?? ""}": ${issue?.message ?? "invalid"}`)
  }
  const options = parsed.data
  let model: ServedModel | undefined
  const metrics = createMetrics(() => model?.batchers.reduce((sum, b) => sum + b.depth, 0) ?? 0)
  model = await loadServedModel(dir, {
    id: options.modelId,
    threads: options.threads,
    instances: options.instances,
    batching: { maxBatchTokens: options.maxBatchTokens, maxWaitMs: options.maxWaitMs, maxQueueRows: options.maxQueueRows },
    onBatch: (operation, stats) => metrics.batch(operation, stats),
  })
  const served = model
  const log: AccessLog = options.accessLog ? jsonLinesAccessLog(start.logTo ?? process.stderr) : noAccessLog
  const routes = new Map(serveRoutes.map((route) => [route.path, route]))
  const docs = openApiDocument(serveRoutes, { title: `kiln serve: ${served.id}`, version: SERVER_VERSION })
  let draining = false
  let inFlight = 0
  let idle: (() => void) | undefined

  const info = () => ({
    model_id: served.id,
    model_sha: null,
    model_dtype: "float32",
    model_type:
      served.config.task === "reranker"
        ? { reranker: { id2label: { "0": "LABEL_0" }, label2id: { LABEL_0: 0 } } }
        : { embedding: { pooling: served.config.pooling ?? "cls" } },
    task: served.config.task,
    hidden_size: served.config.hiddenSize,
    max_input_length: served.tokenizer.maxLength,
    max_batch_tokens: options.maxBatchTokens,
    max_batch_wait_ms: options.maxWaitMs,
    max_queue_rows: options.maxQueueRows,
    max_client_batch_size: options.maxItems,
    max_body_bytes: options.maxBodyBytes,
    request_timeout_ms: options.timeoutMs,
    instances: served.instances,
    sparse: served.sparse !== undefined,
    version: SERVER_VERSION,
  })

  const handleGet = async (path: string): Promise<Response | undefined> => {
    switch (path) {
      case "/health":
        return draining ? jsonResponse({ status: "draining" }, 503, { connection: "close" }) : jsonResponse({ status: "ok" })
      case "/info":
        return jsonResponse(info())
      case "/metrics":
        return new Response(await metrics.registry.metrics(), { headers: { "content-type": metrics.registry.contentType } })
      case "/docs":
      case "/openapi.json":
        return jsonResponse(docs)
      case "/v1/models":
        return jsonResponse({ object: "list", data: [{ id: served.id, object: "model", created: 0, owned_by: "kiln" }] })
      default:
        return undefined
    }
  }

  const handlePost = async (route: PostRoute, request: Request): Promise<{ response: Response; items?: number; tokens?: number; error?: string }> => {
    if (draining) {
      const error = new HttpError(503, "unavailable", "the server is shutting down; retry on another instance", undefined, 1)
      return { response: errorResponse(route.dialect, error, { connection: "close" }), error: error.message }
    }
    const deadline = AbortSignal.timeout(options.timeoutMs)
    const signal = AbortSignal.any([request.signal, deadline])
    let phase: "body" | "run" = "body"
    try {
      const body = await readJsonBody(request, options.maxBodyBytes, signal)
      phase = "run"
      const result = await route.handle(body, { model: served, signal, maxItems: options.maxItems })
      return { response: jsonResponse(result.body), items: result.items, tokens: result.tokens }
    } catch (cause) {
      let error: HttpError
      if (cause instanceof HttpError) error = cause
      else if (cause instanceof QueueFullError) error = new HttpError(429, "queue-full", cause.message, undefined, cause.retryAfterSeconds)
      else if (request.signal.aborted) error = new HttpError(499, "unavailable", "the client closed the connection")
      else if (deadline.aborted) {
        error =
          phase === "body"
            ? new HttpError(408, "timeout", `body: not received within the ${options.timeoutMs} ms request timeout`, "body")
            : new HttpError(503, "timeout", `not answered within the ${options.timeoutMs} ms request timeout (the server is overloaded)`, undefined, 1)
      } else if (draining) error = new HttpError(503, "unavailable", "the server shut down before this request was answered; retry on another instance", undefined, 1)
      else error = new HttpError(500, "internal", `internal error: ${cause instanceof Error ? cause.message : String(cause)}`)
      // A body we stopped reading leaves the connection in an unknown state: close it.
      const close = phase === "body" ? { connection: "close" } : undefined
      return { response: errorResponse(route.dialect, error, close), error: error.message }
    }
  }

  const handle = async (request: Request, remote: string | undefined): Promise<Response> => {
    const started = performance.now()
    const path = new URL(request.url).pathname
    const dialect: Dialect = path.startsWith("/v1/") ? "openai" : "tei"
    const route = routes.get(path)
    let outcome: { response: Response; items?: number; tokens?: number; error?: string }
    inFlight++
    metrics.inFlight.inc()
    try {
      const got = route === undefined ? await handleGet(path) : undefined
      if (route !== undefined && request.method === "POST") outcome = await handlePost(route, request)
      else if (got !== undefined && request.method === "GET") outcome = { response: got }
      else {
        const error = route !== undefined || got !== undefined
          ? new HttpError(405, "not-found", `${request.method} ${path}: use ${route !== undefined ? "POST" : "GET"}`)
          : new HttpError(404, "not-found", `${path}: no such route; see GET /docs`)
        outcome = { response: errorResponse(dialect, error), error: error.message }
      }
    } finally {
      inFlight--
      metrics.inFlight.dec()
      if (inFlight === 0) idle?.()
    }
    const seconds = (performance.now() - started) / 1000
    metrics.request(route?.path ?? (path.length < 32 ? path : "other"), outcome.response.status, seconds)
    log({
      method: request.method,
      path,
      status: outcome.response.status,
      ms: seconds * 1000,
      bytesIn: Number(request.headers.get("content-length") ?? 0),
      remote,
      ...(outcome.items !== undefined ? { items: outcome.items, tokens: outcome.tokens } : {}),
      ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    })
    return outcome.response
  }

  let server: ReturnType<typeof Bun.serve>
  try {
    server = Bun.serve({
      port: options.port,
      hostname: options.host,
      // Oversized bodies are refused by readJsonBody with a JSON 413; Bun's own limit only backs it up.
      maxRequestBodySize: Math.max(options.maxBodyBytes * 4, 64 * 1024 * 1024),
      // Seconds a connection may stay silent; a request waiting for its batch must outlive it.
      idleTimeout: Math.min(255, Math.ceil(options.timeoutMs / 1000) + 5),
      fetch: (request, bunServer) => handle(request, bunServer.requestIP(request)?.address),
      error: (error) => jsonResponse({ error: `internal error: ${error.message}`, error_type: "Backend" }, 500),
    })
  } catch (cause) {
    await served.close()
    throw new ServeError("listen-failed", `could not listen on ${options.host}:${options.port}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
  }

  let stopping: Promise<void> | undefined
  const shutdown = (): Promise<void> =>
    (stopping ??= (async () => {
      draining = true
      // Stop accepting connections; requests already in flight keep theirs.
      const closed = server.stop(false)
      const drained = Promise.all([
        inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (idle = resolve)),
        ...served.batchers.map((b) => b.whenIdle()),
      ])
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, options.drainTimeoutMs)))])
      clearTimeout(timer)
      // Idle keep-alive connections would hold the listener open; close them now.
      await server.stop(true)
      await closed
      await served.close()
    })())

  return { url: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${server.port}`, port: server.port ?? options.port, model: served, metrics, shutdown }
}
