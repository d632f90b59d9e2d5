// Accuracy of one running deployment: STS (MTEB's evaluator for embedders; correlation of scores
// with gold for rerankers), reranking MAP / MRR@10 (rerankers score pairs; embedders rank by
// cosine), and deployment fidelity against a reference deployment on the same texts. STS and
// fidelity embed through `embedPairs` and score through `from-embeddings.ts`, the same math the
// evaluation steps apply to cached embeddings; these whole-deployment forms serve callers that
// hold open deployments (the benchmarks' before-and-after, tests). Each takes an optional
// AbortSignal: when it is aborted (Ctrl-C) no further batch or query starts.
import type { RerankQuery, StsPair } from "../datasets/index.ts"
import { cosineSimilarity, rerankingScores } from "../metrics/index.ts"
import { type Deployment, embedTexts } from "./deployment.ts"
import { embedPairs } from "./embedding-set.ts"
import { fidelityOfEmbeddings, stsOfEmbeddings, type FidelityResult, type Metrics } from "./from-embeddings.ts"

const options = (batchSize: number, signal?: AbortSignal) => ({ batchSize, ...(signal ? { signal } : {}) })

export const evaluateSts = async (d: Deployment, pairs: readonly StsPair[], batchSize = 32, signal?: AbortSignal): Promise<Metrics> =>
  stsOfEmbeddings(await embedPairs(d, pairs, options(batchSize, signal)), pairs)

export const evaluateReranking = async (d: Deployment, queries: readonly RerankQuery[], batchSize = 32, signal?: AbortSignal): Promise<Metrics> => {
  const scored = []
  for (const q of queries) {
    signal?.throwIfAborted()
    const passages = [...q.positives, ...q.negatives]
    const relevance = passages.map((_, i) => i < q.positives.length)
    if (d.kind === "reranker") {
      scored.push({ scores: await d.reranker.score(passages.map((p) => [q.query, p] as const), options(batchSize, signal)), relevance })
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
 * max |Δ|) of pair scores for rerankers — with the distribution and the worst texts.
 */
export const deploymentFidelity = async (candidate: Deployment, reference: Deployment, pairs: readonly StsPair[], batchSize = 32, signal?: AbortSignal): Promise<FidelityResult> => {
  if (candidate.kind !== reference.kind) throw new Error(`fidelity: the candidate is an ${candidate.kind} but the reference is an ${reference.kind}`)
  const ref = await embedPairs(reference, pairs, options(batchSize, signal))
  return fidelityOfEmbeddings(await embedPairs(candidate, pairs, options(batchSize, signal)), ref, pairs)
}
