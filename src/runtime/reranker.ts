// Reranker: loads a reranker deployment bundle and scores (query, passage) pairs with FlagEmbedding's
// truncation (query ≤ ¾ of max length, passage cut to fit), batching for throughput in the caller's order.
import type { TokenBatch } from "../tokenize/index.ts"
import { type BundleSession, type LoadOptions, openBundleSession, type SessionConfig, tokenizeWindow } from "./bundle-session.ts"
import { RuntimeError } from "./errors.ts"

export interface ScoreOptions {
  /** Pairs per ORT run; default 32. Ignored when the graph fixes its batch dimension. */
  readonly batchSize?: number
  /** Map logits through a sigmoid into (0, 1); default false (the raw logit, as FlagEmbedding's compute_score). */
  readonly sigmoid?: boolean
  /** Stops the batch loop when aborted (Ctrl-C): no batch starts after it. */
  readonly signal?: AbortSignal
}

export class Reranker {
  private constructor(private readonly session: BundleSession) {}

  /** Loads a bundle written by writeBundle for task "reranker". */
  static async load(bundleDir: string, options: LoadOptions = {}): Promise<Reranker> {
    return Reranker.fromSession(await openBundleSession(bundleDir, options))
  }

  /** A reranker over an open session of any target; closes the session when it refuses it. */
  static async fromSession(session: BundleSession): Promise<Reranker> {
    if (session.config.task !== "reranker") {
      await session.close()
      throw new RuntimeError("invalid-bundle", `${session.dir}: task is "${session.config.task}"; load it with Embedder.load`, { path: session.dir })
    }
    return new Reranker(session)
  }

  get config(): SessionConfig {
    return this.session.config
  }

  get bundle(): BundleSession {
    return this.session
  }

  /** One score per pair, in the order given. */
  async score(pairs: readonly (readonly [string, string])[], options: ScoreOptions = {}): Promise<number[]> {
    if (!Array.isArray(pairs) || pairs.length === 0) throw new RuntimeError("invalid-input", "Reranker.score: expected a non-empty array of [query, passage] pairs")
    const scores = new Array<number>(pairs.length)
    for (let start = 0; start < pairs.length; start += tokenizeWindow) {
      const tokens = this.session.tokenizer.encodePairs(pairs.slice(start, start + tokenizeWindow), { padding: "longest" })
      await this.scoreRows(tokens, start, scores, options)
    }
    return scores
  }

  /**
   * Pairs already tokenized the way `bundle.tokenizer.encodePairs` does: for callers that count
   * tokens before running them (the server's batching by token budget). Same scores as `score`.
   */
  async scoreTokens(tokens: TokenBatch, options: ScoreOptions = {}): Promise<number[]> {
    if (tokens.dims[0] === 0) throw new RuntimeError("invalid-input", "Reranker.scoreTokens: expected at least one row")
    const scores = new Array<number>(tokens.dims[0])
    await this.scoreRows(tokens, 0, scores, options)
    return scores
  }

  private scoreRows(tokens: TokenBatch, offset: number, scores: number[], options: ScoreOptions): Promise<void> {
    const logitsName = this.session.config.io.outputs.logits!
    return this.session.runBatches(tokens, options.batchSize ?? 32, [logitsName], (rows, _packed, result) => {
      const logits = result.outputs[logitsName]
      if (logits === undefined) throw new RuntimeError("session-failed", `the model returned no "${logitsName}" output`)
      // [batch, 1]: one logit per row.
      const width = logits.dims[1] ?? 1
      rows.forEach((source, r) => {
        const logit = logits.data[r * width] as number
        scores[offset + source] = options.sigmoid ? 1 / (1 + Math.exp(-logit)) : logit
      })
    }, options.signal)
  }

  async close(): Promise<void> {
    await this.session.close()
  }
}
