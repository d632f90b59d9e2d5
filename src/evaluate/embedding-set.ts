// What a deployment makes of a dataset's texts, computed once and then read by every evaluation:
// the distinct texts' dense vectors (embedders; bge-m3's lexical weights and multi-vectors when
// asked) or the pairs' scores (rerankers), with the text → row index that finds them again.
import type { StsPair } from "../datasets/index.ts"
import type { FloatTensor } from "../tensor/index.ts"
import { distinctTexts } from "./dataset-files.ts"
import type { Deployment } from "./deployment.ts"

export type InputMode = "query" | "passage"

/** bge-m3's lexical weights in CSR form: text r's token ids are indices[indptr[r]..indptr[r+1]), ascending. */
export interface SparseRows {
  readonly indptr: Int32Array
  readonly indices: Int32Array
  readonly values: Float32Array
}

/** bge-m3's multi-vectors: text r's token vectors are rows offsets[r]..offsets[r+1] of `vectors` ([tokens, hidden]). */
export interface ColbertRows {
  readonly offsets: Int32Array
  readonly vectors: FloatTensor
}

interface Common {
  /** Row r belongs to texts[r]; distinct, in first-seen order of the dataset. */
  readonly texts: readonly string[]
  readonly input: InputMode
}

export type EmbeddingSet =
  | (Common & { readonly task: "embedder"; readonly dense: FloatTensor; readonly sparse?: SparseRows; readonly colbert?: ColbertRows })
  /** A reranker scores pairs: scores[i] is the score of (texts[pairs[i][0]], texts[pairs[i][1]]). */
  | (Common & { readonly task: "reranker"; readonly pairs: readonly (readonly [number, number])[]; readonly scores: Float32Array })

export interface EmbedOptions {
  readonly batchSize?: number
  readonly input?: InputMode
  /** bge-m3: also keep lexical weights / multi-vectors (only when the deployment has them). */
  readonly sparse?: boolean
  readonly colbert?: boolean
  readonly signal?: AbortSignal
}

const packSparse = (maps: readonly Map<number, number>[]): SparseRows => {
  const indptr = new Int32Array(maps.length + 1)
  maps.forEach((m, r) => (indptr[r + 1] = indptr[r]! + m.size))
  const indices = new Int32Array(indptr[maps.length]!)
  const values = new Float32Array(indices.length)
  maps.forEach((m, r) => {
    // Ascending token ids: the same weights always give the same bytes.
    const ids = [...m.keys()].sort((a, b) => a - b)
    ids.forEach((id, k) => {
      indices[indptr[r]! + k] = id
      values[indptr[r]! + k] = m.get(id)!
    })
  })
  return { indptr, indices, values }
}

const packColbert = (rows: readonly Float32Array[], hidden: number): ColbertRows => {
  const offsets = new Int32Array(rows.length + 1)
  rows.forEach((v, r) => (offsets[r + 1] = offsets[r]! + v.length / hidden))
  const data = new Float32Array(offsets[rows.length]! * hidden)
  rows.forEach((v, r) => data.set(v, offsets[r]! * hidden))
  return { offsets, vectors: { shape: [offsets[rows.length]!, hidden], data } }
}

/** Index of the pairs' distinct texts, in first-seen order. */
export const pairIndex = (pairs: readonly StsPair[]): { texts: string[]; pairs: [number, number][] } => {
  const texts = distinctTexts(pairs)
  const row = new Map(texts.map((t, i) => [t, i]))
  return { texts, pairs: pairs.map((p) => [row.get(p.sentence1)!, row.get(p.sentence2)!]) }
}

/**
 * Runs the deployment once over an STS-style dataset: an embedder embeds each distinct text once
 * (in one call, so rows match what a whole-corpus embed gives), a reranker scores each pair.
 */
export const embedPairs = async (d: Deployment, pairs: readonly StsPair[], options: EmbedOptions = {}): Promise<EmbeddingSet> => {
  if (pairs.length === 0) throw new Error("embed: the dataset has no pairs")
  const { texts, pairs: index } = pairIndex(pairs)
  const input = options.input ?? "passage"
  const batchSize = options.batchSize ?? 32
  const signal = options.signal !== undefined ? { signal: options.signal } : {}
  if (d.kind === "reranker") {
    const scores = await d.reranker.score(pairs.map((p) => [p.sentence1, p.sentence2] as const), { batchSize, ...signal })
    return { task: "reranker", texts, input, pairs: index, scores: Float32Array.from(scores) }
  }
  const out = await d.embedder.embed(texts, { batchSize, input, sparse: options.sparse === true, colbert: options.colbert === true, ...signal })
  if (options.sparse === true && out.sparse === undefined) throw new Error(`embed: sparse outputs were asked for, but ${d.dir} has no lexical-weights output (only bge-m3 deployments do)`)
  if (options.colbert === true && out.colbert === undefined) throw new Error(`embed: ColBERT outputs were asked for, but ${d.dir} has no multi-vector output (only bge-m3 deployments do)`)
  return {
    task: "embedder",
    texts,
    input,
    dense: out.dense,
    ...(out.sparse !== undefined ? { sparse: packSparse(out.sparse) } : {}),
    ...(out.colbert !== undefined ? { colbert: packColbert(out.colbert, out.dense.shape[1]!) } : {}),
  }
}
