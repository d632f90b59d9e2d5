// A deployment of any target loaded for serving: the target's session (src/targets — ONNX Runtime
// sessions in worker threads on cpu so inference never stalls the HTTP thread, the vaststreamx
// runner on vacc) under an Embedder or Reranker, and one batcher per operation (dense embeddings,
// bge-m3 lexical weights, reranker scores) sharing that session. close() releases the session's
// scope: worker threads, the runner process, the die.
import { readFileSync } from "node:fs"
import { basename, join } from "node:path"
import { z } from "zod"
import { type BundleSession, Embedder, Reranker, type SessionConfig } from "../runtime/index.ts"
import { openDeploymentSession } from "../targets/index.ts"
import { packRows, type TextTokenizer, type TokenRow } from "../tokenize/index.ts"
import { Batcher, type BatcherOptions, type BatchQueue, type BatchStats } from "./batcher.ts"
import { ServeError } from "./errors.ts"

export type Operation = "embed" | "embed_sparse" | "rerank"

export interface ServedModel {
  readonly id: string
  readonly dir: string
  readonly config: SessionConfig
  readonly tokenizer: TextTokenizer
  /** From the bundle's config.json; token-id input is checked against it. */
  readonly vocabSize: number | undefined
  /** Sessions that run batches at once (the batchers' concurrency). */
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
  const failed = (cause: unknown) => new ServeError("load-failed", cause instanceof Error ? cause.message : String(cause), { cause })
  let session: BundleSession
  try {
    session = await openDeploymentSession(dir, { ...(options.threads !== undefined ? { threads: options.threads } : {}), instances: options.instances, workers: true })
  } catch (cause) {
    throw failed(cause)
  }
  const config = session.config
  const tokenizer = session.tokenizer
  const onBatch = options.onBatch ?? (() => {})
  // A target may run fewer sessions than asked (vacc: one runner per die); batch for what it runs.
  const instances = session.pool.instances
  const batching = { ...options.batching, concurrency: instances }
  const common = { id: options.id ?? basename(dir), dir, config, tokenizer, vocabSize: readVocabSize(tokenizer.dir), instances }
  // fromSession closes the session when it refuses it.
  if (config.task === "reranker") {
    const reranker = await Reranker.fromSession(session).catch((cause: unknown) => Promise.reject(failed(cause)))
    const rerank = new Batcher<TokenRow, number>(
      batching,
      (rows) => reranker.scoreTokens(packed(rows, tokenizer), { batchSize: rows.length }),
      rowLength,
      (stats) => onBatch("rerank", stats),
    )
    return { ...common, dense: undefined, sparse: undefined, rerank, batchers: [rerank], close: () => reranker.close() }
  }
  const embedder = await Embedder.fromSession(session).catch((cause: unknown) => Promise.reject(failed(cause)))
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
  return { ...common, dense, sparse, rerank: undefined, batchers: sparse ? [dense, sparse] : [dense], close: () => embedder.close() }
}
