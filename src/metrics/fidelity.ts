// How closely a candidate model (quantized, fp16, another runtime) reproduces the fp32 reference:
// per-row cosine of embeddings, and rank/score agreement of reranker outputs. The one place this
// math lives: deployment fidelity (src/evaluate), the quantizer's held-out fidelity (src/quant)
// and the benchmarks all call it.

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

/** Agreement of one score per sample (a reranker's logits). */
export interface RerankerFidelity {
  /** Spearman correlation of candidate vs reference scores: does the candidate rank alike? */
  readonly spearman: number
  readonly pearson: number
  readonly maxAbsDiff: number
  readonly meanAbsDiff: number
  /** Population standard deviation of the reference scores: what |Δ| is small or large against. */
  readonly referenceStd: number
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
  let sumAbsDiff = 0
  let referenceSum = 0
  for (let i = 0; i < n; i++) {
    const diff = Math.abs((referenceScores[i] as number) - (candidateScores[i] as number))
    maxAbsDiff = Math.max(maxAbsDiff, diff)
    sumAbsDiff += diff
    referenceSum += referenceScores[i] as number
  }
  const referenceMean = referenceSum / n
  let squares = 0
  for (let i = 0; i < n; i++) squares += ((referenceScores[i] as number) - referenceMean) ** 2
  return {
    spearman: spearman(referenceScores, candidateScores),
    pearson: pearson(referenceScores, candidateScores),
    maxAbsDiff,
    meanAbsDiff: sumAbsDiff / n,
    referenceStd: Math.sqrt(squares / n),
    count: n,
  }
}
