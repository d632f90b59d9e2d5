// How closely a candidate model (quantized, fp16, another runtime) reproduces the fp32 reference:
// per-row cosine of embeddings, and rank/score agreement of reranker outputs.

import { pearson, spearman } from "./correlation.ts"
import { checkSameLength, checkSeries } from "./errors.ts"
import type { Embeddings } from "./embeddings.ts"
import { percentileOfSorted } from "./percentile.ts"
import { rowCosineSimilarities } from "./similarity.ts"

export interface EmbeddingFidelity {
  readonly mean: number
  /** 1st percentile of the per-row cosines (linear interpolation, as numpy). */
  readonly p1: number
  readonly min: number
  readonly rows: number
}

export interface RerankerFidelity {
  /** Spearman correlation of candidate vs reference scores: does the candidate rank alike? */
  readonly spearman: number
  readonly pearson: number
  readonly maxAbsDiff: number
  readonly count: number
}

export const embeddingFidelity = (reference: Embeddings, candidate: Embeddings): EmbeddingFidelity => {
  const cosines = rowCosineSimilarities(reference, candidate)
  const sorted = Float64Array.from(cosines).sort()
  const sum = cosines.reduce((a, b) => a + b, 0)
  return { mean: sum / cosines.length, p1: percentileOfSorted(sorted, 1), min: sorted[0] as number, rows: cosines.length }
}

/** Scores for the same (query, passage) pairs in the same order, flattened over queries. */
export const rerankerFidelity = (referenceScores: ArrayLike<number>, candidateScores: ArrayLike<number>): RerankerFidelity => {
  const n = checkSeries("rerankerFidelity", "referenceScores", referenceScores)
  checkSeries("rerankerFidelity", "candidateScores", candidateScores)
  checkSameLength("rerankerFidelity", { label: "referenceScores", length: n }, { label: "candidateScores", length: candidateScores.length })
  let maxAbsDiff = 0
  for (let i = 0; i < n; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs((referenceScores[i] as number) - (candidateScores[i] as number)))
  return { spearman: spearman(referenceScores, candidateScores), pearson: pearson(referenceScores, candidateScores), maxAbsDiff, count: n }
}
