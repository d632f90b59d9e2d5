// A deployment loaded for serving: its Embedder or Reranker (src/runtime) with every session in a
// worker thread so inference never stalls the HTTP thread, and one batcher per operation (dense
// embeddings, bge-m3 lexical weights, reranker scores) sharing the session pool. The server only
// uses the Embedder / Reranker interfaces, so a target that loads its deployments behind them
// serves the same way.
import { readFileSync } from "node:fs"
import { basename, join } from "node:path"
import { z } from "zod"
import { Embedder, readRuntimeConfig, Reranker, type RuntimeConfig } from "../runtime/index.ts"
import { packRows, type TextTokenizer, type TokenRow } from "../tokenize/index.ts"
import { Batcher, type BatcherOptions, type BatchQueue, type BatchStats } from "./batcher.ts"
import { ServeError } from "./errors.ts"

export type Operation = "embed" | "embed_sparse" | "rerank"

export interface ServedModel {
  readonly id: string
  readonly dir: string
  readonly config: RuntimeConfig
  readonly tokenizer: TextTokenizer
  /** From the bundle's config.json; token-id input is checked against it. */
  readonly vocabSize: number | undefined
  readonly instances: number
  /** Dense embeddings (embedding and m3 deployments). */
  readonly dense: Batcher<TokenRow, Float32Array> | undefined
  /** bge-m3 lexical weights: token id → weight. */
  readonly sparse: Batcher<TokenRow, Map<number, number>> | undefined
  /** Reranker logits. */
  readonly rerank: Batcher<TokenRow, number> | undefined
  readonly batchers: readonly BatchQueue[]
  close(): Promise<void>
}

export interface LoadServedModelOptions {
  readonly id?: string
  readonly threads?: number
  readonly instances: number
  readonly batching: Omit<BatcherOptions, "concurrency">
  readonly onBatch?: (operation: Operation, stats: BatchStats) => void
}

const HfConfig = z.looseObject({ vocab_size: z.number().int().positive().optional() })

const readVocabSize = (dir: string): number | undefined => {
  try {
    return HfConfig.parse(JSON.parse(readFileSync(join(dir, "config.json"), "utf8"))).vocab_size
  } catch {
    // Without it token-id input is refused (see the OpenAI route); text input does not need it.
    return undefined
  }
}

const rowLength = (row: TokenRow): number => row.ids.length

/** A batch's rows padded to its longest (the runtime pads further for a static sequence length). */
const packed = (rows: readonly TokenRow[], tokenizer: TextTokenizer) => packRows(rows, rows.reduce((m, r) => Math.max(m, r.ids.length), 0), tokenizer.padTokenId)

export const loadServedModel = async (dir: string, options: LoadServedModelOptions): Promise<ServedModel> => {
  let config: RuntimeConfig
  try {
    config = readRuntimeConfig(dir)
  } catch (cause) {
    throw new ServeError("load-failed", cause instanceof Error ? cause.message : String(cause), { cause })
  }
  const load = { threads: options.threads, instances: options.instances, workers: true }
  const onBatch = options.onBatch ?? (() => {})
  const batching = { ...options.batching, concurrency: options.instances }
  const common = { id: options.id ?? basename(dir), dir, config, vocabSize: readVocabSize(dir), instances: options.instances }
  try {
    if (config.task === "reranker") {
      const reranker = await Reranker.load(dir, load)
      const tokenizer = reranker.bundle.tokenizer
      const rerank = new Batcher<TokenRow, number>(
        batching,
        (rows) => reranker.scoreTokens(packed(rows, tokenizer), { batchSize: rows.length }),
        rowLength,
        (stats) => onBatch("rerank", stats),
      )
      return { ...common, tokenizer, dense: undefined, sparse: undefined, rerank, batchers: [rerank], close: () => reranker.close() }
    }
    const embedder = await Embedder.load(dir, load)
    const tokenizer = embedder.bundle.tokenizer
    const hidden = config.hiddenSize
    const dense = new Batcher<TokenRow, Float32Array>(
      batching,
      async (rows) => {
        const { dense: out } = await embedder.embedTokens(packed(rows, tokenizer), { batchSize: rows.length, sparse: false, colbert: false })
        return rows.map((_, i) => out.data.slice(i * hidden, (i + 1) * hidden))
      },
      rowLength,
      (stats) => onBatch("embed", stats),
    )
    const sparse =
      config.io.outputs.sparse === undefined
        ? undefined
        : new Batcher<TokenRow, Map<number, number>>(
            batching,
            async (rows) => (await embedder.embedTokens(packed(rows, tokenizer), { batchSize: rows.length, sparse: true, colbert: false })).sparse!,
            rowLength,
            (stats) => onBatch("embed_sparse", stats),
          )
    return { ...common, tokenizer, dense, sparse, rerank: undefined, batchers: sparse ? [dense, sparse] : [dense], close: () => embedder.close() }
  } catch (cause) {
    throw new ServeError("load-failed", `${dir}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
  }
}
