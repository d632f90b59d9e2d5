// `kiln serve` settings: where to listen, how to batch, and the limits that keep one client from
// taking the server down. Validated with zod whether they come from flags or from code.
import { z } from "zod"

const Positive = z.number().int().positive()

export const ServeOptions = z.strictObject({
  /** 0 picks a free port (tests, benchmarks). */
  port: z.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default("127.0.0.1"),
  /** Name reported by /info and echoed as `model` in OpenAI responses; default: the deployment folder's name. */
  modelId: z.string().min(1).optional(),
  /**
   * Padded tokens (rows × longest row) per batch. Measured with bench/serve.ts on the 2-core dev
   * machine (bge-small, 64 clients): 256 → 1.21× the unbatched peer's throughput, 512 → 0.74×,
   * 2048 → 0.34×; re-measured under heavy load: 128 → 0.83×, 256 → 1.25×, 512 → 0.65×. ORT on CPU
   * is fastest per sentence in length-sorted batches of 8–16 STS-B sentences (≈ 120–240 padded
   * tokens; the bench's batching-ceiling line) and slower in bigger ones, so small batches win
   * there; raise it on machines where big batches pay (an accelerator).
   */
  maxBatchTokens: Positive.default(256),
  /** How long a queued row may wait for a fuller batch while another batch runs, ms. 0 disables waiting. */
  maxWaitMs: z.number().min(0).max(60_000).default(2),
  /** Rows waiting in the queue before requests get 429. */
  maxQueueRows: Positive.default(4_096),
  /** Texts (or pairs) in one request. */
  maxItems: Positive.default(2_048),
  /** Request body size, bytes. */
  maxBodyBytes: Positive.default(2 * 1024 * 1024),
  /** A request (body, queue and run) that takes longer is answered 408 / 503; ms. */
  timeoutMs: Positive.default(30_000),
  /** On SIGTERM, how long in-flight requests get to finish before the server closes anyway; ms. */
  drainTimeoutMs: Positive.default(30_000),
  /** Intra-op threads in total (default: every core) and concurrent sessions, each in a worker thread. */
  threads: Positive.optional(),
  instances: Positive.default(1),
  /** Structured access log, one JSON line per request; false to turn it off. */
  accessLog: z.boolean().default(true),
})
export type ServeOptions = z.infer<typeof ServeOptions>
export type ServeOptionsInput = z.input<typeof ServeOptions>
