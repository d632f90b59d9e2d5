// `kiln serve`: a deployment bundle as an HTTP service that OpenAI and Hugging Face TEI clients
// already speak, with dynamic batching across requests, back-pressure, limits and metrics.
//
//   const server = await startServer("out/bundle", { port: 8080, maxBatchTokens: 256, maxWaitMs: 2 })
//   // POST /v1/embeddings, /embed, /embed_sparse, /rerank; GET /health, /info, /metrics, /docs
//   await server.shutdown()   // refuses new requests, finishes those in flight, closes the model

export { Batcher, QueueFullError, type BatcherOptions, type BatchQueue, type BatchStats } from "./batcher.ts"
export { HttpError, ServeError, type HttpErrorKind, type ServeErrorReason } from "./errors.ts"
export { ServeOptions, type ServeOptionsInput } from "./options.ts"
export { loadServedModel, type Operation, type ServedModel } from "./served-model.ts"
export { serveRoutes, startServer, type RunningServer, type StartServerOptions } from "./server.ts"
export { serveCli, SERVE_USAGE } from "./cli.ts"
export { resolveDeployment, type ResolvedDeployment } from "./deployment-source.ts"
