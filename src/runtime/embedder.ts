// Embedder: loads an embedding (or bge-m3) deployment bundle and turns texts into dense vectors,
// plus bge-m3's lexical weights and multi-vectors, batching for throughput and keeping the caller's order.
import type { FloatTensor } from "../tensor/index.ts"
import type { TokenBatch } from "../tokenize/index.ts"
import { type BundleSession, type LoadOptions, openBundleSession, type SessionConfig, tokenizeWindow } from "./bundle-session.ts"
import { RuntimeError } from "./errors.ts"
import type { OutputTensor, RunResult } from "./model-session.ts"
import { sparseExcludedTokenIds } from "./special-tokens.ts"

export interface EmbedOptions {
  /** Rows per ORT run; default 32. Ignored when the graph fixes its batch dimension. */
  readonly batchSize?: number
  /** "query" prepends the bundle's instruction; "passage" (default) embeds the text as is. */
  readonly input?: "query" | "passage"
  /** bge-m3 only: compute lexical weights / multi-vectors (default: whenever the model has them). */
  readonly sparse?: boolean
  readonly colbert?: boolean
  /** Stops the batch loop when aborted (Ctrl-C): no batch starts after it. */
  readonly signal?: AbortSignal
}

export interface Embeddings {
  /** [texts, hidden], L2-normalised when the bundle says so (BGE: always). */
  readonly dense: FloatTensor
  /** bge-m3: per text, token id → weight (max over occurrences; CLS/SEP/PAD/UNK dropped; only weights > 0). */
  readonly sparse?: Map<number, number>[]
  /** bge-m3: per text, [tokens - 1, hidden] row-major (every real token after CLS), L2-normalised rows. */
  readonly colbert?: Float32Array[]
}

interface Collector {
  readonly fetches: readonly string[]
  readonly consume: (offset: number, rows: readonly number[], packed: TokenBatch, result: RunResult) => void
  readonly result: () => Embeddings
}

const l2NormalizeRow = (data: Float32Array, offset: number, width: number): void => {
  let sum = 0
  for (let i = 0; i < width; i++) sum += (data[offset + i] as number) ** 2
  const scale = 1 / Math.max(Math.sqrt(sum), 1e-12)
  for (let i = 0; i < width; i++) data[offset + i] = (data[offset + i] as number) * scale
}

const outputOf = (result: RunResult, name: string): OutputTensor => {
  const output = result.outputs[name]
  if (output === undefined) throw new RuntimeError("session-failed", `the model returned no "${name}" output`)
  return output
}

export class Embedder {
  private constructor(
    private readonly session: BundleSession,
    private readonly excludedIds: ReadonlySet<number> | undefined,
  ) {}

  /** Loads a bundle written by writeBundle for task "embedding" or "m3". */
  static async load(bundleDir: string, options: LoadOptions = {}): Promise<Embedder> {
    return Embedder.fromSession(await openBundleSession(bundleDir, options))
  }

  /** An embedder over an open session of any target; closes the session when it refuses it. */
  static async fromSession(session: BundleSession): Promise<Embedder> {
    if (session.config.task === "reranker") {
      await session.close()
      throw new RuntimeError("invalid-bundle", `${session.dir}: task is "reranker"; load it with Reranker.load`, { path: session.dir })
    }
    const excluded = session.config.io.outputs.sparse === undefined ? undefined : sparseExcludedTokenIds(session.tokenizer.dir)
    return new Embedder(session, excluded)
  }

  get config(): SessionConfig {
    return this.session.config
  }

  get hiddenSize(): number {
    return this.session.config.hiddenSize
  }

  /** The loaded bundle (tokenizer, session pool), e.g. for benchmarks. */
  get bundle(): BundleSession {
    return this.session
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Embeddings> {
    if (!Array.isArray(texts) || texts.length === 0) throw new RuntimeError("invalid-input", `Embedder.embed: expected a non-empty array of texts`)
    const instruction = options.input === "query" ? this.session.config.instruction : ""
    const collector = this.collector(texts.length, options)
    for (let start = 0; start < texts.length; start += tokenizeWindow) {
      const tokens = this.session.tokenizer.encode(texts.slice(start, start + tokenizeWindow), { padding: "longest", instruction })
      await this.runRows(tokens, start, options, collector)
    }
    return collector.result()
  }

  /**
   * Rows already tokenized the way `bundle.tokenizer.encode` does (specials included, cut to the
   * bundle's max length): for callers that count or check tokens before running them (the server
   * batches requests by token budget and accepts token-id input). Same outputs as `embed`.
   */
  async embedTokens(tokens: TokenBatch, options: Omit<EmbedOptions, "input"> = {}): Promise<Embeddings> {
    if (tokens.dims[0] === 0) throw new RuntimeError("invalid-input", `Embedder.embedTokens: expected at least one row`)
    const collector = this.collector(tokens.dims[0], options)
    await this.runRows(tokens, 0, options, collector)
    return collector.result()
  }

  async close(): Promise<void> {
    await this.session.close()
  }

  /** The output buffers for `count` rows and the fetches that fill them. */
  private collector(count: number, options: Omit<EmbedOptions, "input">): Collector {
    const outputs = this.session.config.io.outputs
    const hidden = this.session.config.hiddenSize
    const denseName = outputs.dense ?? outputs.tokens!
    const sparseName = options.sparse !== false ? outputs.sparse : undefined
    const colbertName = options.colbert !== false ? outputs.colbert : undefined
    const dense = new Float32Array(count * hidden)
    const sparse = sparseName ? new Array<Map<number, number>>(count) : undefined
    const colbert = colbertName ? new Array<Float32Array>(count) : undefined
    return {
      fetches: [denseName, ...(sparseName ? [sparseName] : []), ...(colbertName ? [colbertName] : [])],
      consume: (offset, rows, packed, result) => {
        this.collectDense(outputOf(result, denseName), packed, rows, offset, dense)
        if (sparse && sparseName) this.collectSparse(outputOf(result, sparseName), packed, rows, offset, sparse)
        if (colbert && colbertName) collectColbert(outputOf(result, colbertName), packed, rows, offset, hidden, colbert)
      },
      result: () => ({ dense: { shape: [count, hidden], data: dense }, ...(sparse ? { sparse } : {}), ...(colbert ? { colbert } : {}) }),
    }
  }

  private runRows(tokens: TokenBatch, offset: number, options: Omit<EmbedOptions, "input">, collector: Collector): Promise<void> {
    return this.session.runBatches(tokens, options.batchSize ?? 32, collector.fetches, (rows, packed, result) => collector.consume(offset, rows, packed, result), options.signal)
  }

  private collectDense(output: OutputTensor, packed: TokenBatch, rows: readonly number[], offset: number, dense: Float32Array): void {
    const { config } = this.session
    const hidden = config.hiddenSize
    const pooled = config.pooledInGraph
    const seq = packed.dims[1]
    rows.forEach((source, r) => {
      const target = (offset + source) * hidden
      if (pooled) dense.set(output.data.subarray(r * hidden, (r + 1) * hidden), target)
      else if (config.pooling === "cls") dense.set(output.data.subarray(r * seq * hidden, r * seq * hidden + hidden), target)
      else if (config.pooling === "last") {
        // Rows are padded on the right: the last real token is at length - 1.
        const from = (r * seq + Math.max((packed.lengths[r] as number) - 1, 0)) * hidden
        dense.set(output.data.subarray(from, from + hidden), target)
      }
      else {
        // Mean over real tokens.
        const length = packed.lengths[r] as number
        for (let t = 0; t < length; t++) {
          const from = (r * seq + t) * hidden
          for (let i = 0; i < hidden; i++) dense[target + i] = (dense[target + i] as number) + (output.data[from + i] as number) / length
        }
      }
      if (config.normalize && !config.normalizedInGraph) l2NormalizeRow(dense, target, hidden)
    })
  }

  private collectSparse(output: OutputTensor, packed: TokenBatch, rows: readonly number[], offset: number, sparse: Map<number, number>[]): void {
    const seq = packed.dims[1]
    rows.forEach((source, r) => {
      const weights = new Map<number, number>()
      for (let t = 0; t < (packed.lengths[r] as number); t++) {
        const id = packed.inputIds[r * seq + t] as number
        const weight = output.data[r * seq + t] as number
        if (weight > 0 && !this.excludedIds!.has(id) && weight > (weights.get(id) ?? 0)) weights.set(id, weight)
      }
      sparse[offset + source] = weights
    })
  }
}

/** colbert_vecs is [batch, seq - 1, hidden]; a text keeps its first length - 1 rows (the tokens after CLS). */
const collectColbert = (output: OutputTensor, packed: TokenBatch, rows: readonly number[], offset: number, hidden: number, colbert: Float32Array[]): void => {
  const steps = output.dims[1] ?? 0
  rows.forEach((source, r) => {
    const keep = Math.min(Math.max((packed.lengths[r] as number) - 1, 0), steps)
    const from = r * steps * hidden
    colbert[offset + source] = output.data.slice(from, from + keep * hidden)
  })
}
