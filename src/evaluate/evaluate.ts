// Accuracy of one deployment: STS (MTEB's evaluator for embedders; correlation of scores with gold
// for rerankers), reranking MAP / MRR@10 (rerankers score pairs; embedders rank by cosine), and
// deployment fidelity against a reference deployment on the same texts. Each takes an optional
// AbortSignal: when it is aborted (Ctrl-C) no further batch or query starts.
import type { RerankQuery, StsPair } from "../datasets/index.ts"
import { cosineSimilarity, embeddingFidelity, pearson, rerankerFidelity, rerankingScores, spearman, stsScores } from "../metrics/index.ts"
import type { FloatTensor } from "../tensor/index.ts"
import { type Deployment, embedTexts } from "./deployment.ts"
import { distinctTexts } from "./dataset-files.ts"

export type Metrics = Readonly<Record<string, number>>

const rowsOf = (t: FloatTensor, index: readonly number[]): FloatTensor => {
  const dim = t.shape[1]!
  const data = new Float32Array(index.length * dim)
  index.forEach((row, i) => data.set(t.data.subarray(row * dim, (row + 1) * dim), i * dim))
  return { shape: [index.length, dim], data }
}

/** Embeds every distinct text once and returns the rows for sentence1 and sentence2. */
const embedPairs = async (d: Deployment & { kind: "embedder" }, pairs: readonly StsPair[], batchSize: number, signal?: AbortSignal) => {
  const texts = distinctTexts(pairs)
  const position = new Map(texts.map((t, i) => [t, i]))
  const all = await embedTexts(d, texts, batchSize, "passage", signal)
  return {
    all,
    first: rowsOf(all, pairs.map((p) => position.get(p.sentence1)!)),
    second: rowsOf(all, pairs.map((p) => position.get(p.sentence2)!)),
  }
}

const scorePairs = (d: Deployment & { kind: "reranker" }, pairs: readonly StsPair[], batchSize: number, signal?: AbortSignal) =>
  d.reranker.score(pairs.map((p) => [p.sentence1, p.sentence2] as const), { batchSize, ...(signal ? { signal } : {}) })

export const evaluateSts = async (d: Deployment, pairs: readonly StsPair[], batchSize = 32, signal?: AbortSignal): Promise<Metrics> => {
  const gold = pairs.map((p) => p.score)
  if (d.kind === "embedder") {
    const { first, second } = await embedPairs(d, pairs, batchSize, signal)
    const { pairs: count, ...scores } = stsScores(first, second, gold)
    return { ...scores, pairs: count }
  }
  const scores = await scorePairs(d, pairs, batchSize, signal)
  return { score_spearman: spearman(gold, scores), score_pearson: pearson(gold, scores), main_score: spearman(gold, scores), pairs: pairs.length }
}

export const evaluateReranking = async (d: Deployment, queries: readonly RerankQuery[], batchSize = 32, signal?: AbortSignal): Promise<Metrics> => {
  const scored = []
  const options = { batchSize, ...(signal ? { signal } : {}) }
  for (const q of queries) {
    signal?.throwIfAborted()
    const passages = [...q.positives, ...q.negatives]
    const relevance = passages.map((_, i) => i < q.positives.length)
    if (d.kind === "reranker") {
      scored.push({ scores: await d.reranker.score(passages.map((p) => [q.query, p] as const), options), relevance })
    } else {
      const query = await embedTexts(d, [q.query], 1, "query", signal)
      const docs = await embedTexts(d, passages, batchSize, "passage", signal)
      const dim = query.shape[1]!
      const scores = passages.map((_, i) => cosineSimilarity(query.data, docs.data.subarray(i * dim, (i + 1) * dim)))
      scored.push({ scores, relevance })
    }
  }
  const { map, mrr_at_10 } = rerankingScores(scored)
  return { map, mrr_at_10, main_score: map, queries: queries.length }
}

/**
 * Deployment fidelity: how closely `candidate` reproduces `reference` on the dataset's texts —
 * per-text cosine of dense embeddings (mean, p1, min) for embedders; Spearman (and Pearson,
 * max |Δ|) of pair scores for rerankers.
 */
export const deploymentFidelity = async (candidate: Deployment, reference: Deployment, pairs: readonly StsPair[], batchSize = 32, signal?: AbortSignal): Promise<Metrics> => {
  if (candidate.kind !== reference.kind) throw new Error(`fidelity: the candidate is an ${candidate.kind} but the reference is an ${reference.kind}`)
  if (candidate.kind === "embedder" && reference.kind === "embedder") {
    const texts = distinctTexts(pairs)
    const f = embeddingFidelity(await embedTexts(reference, texts, batchSize, "passage", signal), await embedTexts(candidate, texts, batchSize, "passage", signal))
    return { cosine_mean: f.mean, cosine_p1: f.p1, cosine_min: f.min, texts: f.rows }
  }
  const ref = await scorePairs(reference as Deployment & { kind: "reranker" }, pairs, batchSize, signal)
  const cand = await scorePairs(candidate as Deployment & { kind: "reranker" }, pairs, batchSize, signal)
  const f = rerankerFidelity(ref, cand)
  return { score_spearman: f.spearman, score_pearson: f.pearson, score_max_abs_diff: f.maxAbsDiff, pairs: pairs.length }
}
