// The scores MTEB's STS evaluator reports for one dataset: Pearson and Spearman between the gold
// scores and each similarity (cosine; manhattan and euclidean as negated distances, so larger
// means more similar), with cosine Spearman as the main score.

import { pearson, spearman } from "./correlation.ts"
import { checkSameLength, checkSeries, MetricError } from "./errors.ts"
import type { Embeddings } from "./embeddings.ts"
import { rowCosineSimilarities, rowEuclideanDistances, rowManhattanDistances } from "./similarity.ts"

export interface StsScores {
  readonly cosine_pearson: number
  readonly cosine_spearman: number
  readonly manhattan_pearson: number
  readonly manhattan_spearman: number
  readonly euclidean_pearson: number
  readonly euclidean_spearman: number
  /** = cosine_spearman, as in MTEB. */
  readonly main_score: number
  readonly pairs: number
}

export interface StsScoreOptions {
  /**
   * The dataset's score scale used to map gold scores to [0, 1] (MTEB takes it from the task,
   * e.g. 0–5 for STS12, 0–1 for BQ). Defaults to the observed min and max. The mapping is affine,
   * so it never changes a correlation; it is kept so reports can show normalised gold scores.
   */
  readonly minScore?: number
  readonly maxScore?: number
}

/** Gold scores mapped to [0, 1] by the scale (or observed range). */
export const normaliseGold = (gold: ArrayLike<number>, options?: StsScoreOptions): Float64Array => {
  checkSeries("sts", "gold", gold)
  const values = Float64Array.from(gold)
  const min = options?.minScore ?? values.reduce((a, b) => Math.min(a, b))
  const max = options?.maxScore ?? values.reduce((a, b) => Math.max(a, b))
  if (!(max > min)) throw new MetricError("sts", "constant-input", `gold score range is [${min}, ${max}], expected max > min`)
  return values.map((v) => (v - min) / (max - min))
}

export const stsScores = (embeddings1: Embeddings, embeddings2: Embeddings, gold: ArrayLike<number>, options?: StsScoreOptions): StsScores => {
  const goldNormalised = normaliseGold(gold, options)
  const cosine = rowCosineSimilarities(embeddings1, embeddings2)
  checkSameLength("sts", { label: "gold", length: goldNormalised.length }, { label: "embeddings (rows)", length: cosine.length })
  const manhattan = rowManhattanDistances(embeddings1, embeddings2).map((d) => -d)
  const euclidean = rowEuclideanDistances(embeddings1, embeddings2).map((d) => -d)
  const cosineSpearman = spearman(goldNormalised, cosine)
  return {
    cosine_pearson: pearson(goldNormalised, cosine),
    cosine_spearman: cosineSpearman,
    manhattan_pearson: pearson(goldNormalised, manhattan),
    manhattan_spearman: spearman(goldNormalised, manhattan),
    euclidean_pearson: pearson(goldNormalised, euclidean),
    euclidean_spearman: spearman(goldNormalised, euclidean),
    main_score: cosineSpearman,
    pairs: cosine.length,
  }
}
