// Evaluation metrics for embedding models and rerankers: correlations, similarities, MTEB-style
// STS and reranking scores, fidelity against a reference, latency statistics. All in float64;
// undefined cases raise MetricError instead of returning NaN.

export { MetricError, type MetricErrorReason } from "./errors.ts"
export { averageRanks, pearson, spearman } from "./correlation.ts"
export type { Embeddings } from "./embeddings.ts"
export {
  cosineSimilarity,
  euclideanDistance,
  manhattanDistance,
  rowCosineSimilarities,
  rowEuclideanDistances,
  rowManhattanDistances,
} from "./similarity.ts"
export { normaliseGold, stsScores, type StsScoreOptions, type StsScores } from "./sts.ts"
export { averagePrecision, reciprocalRank, rerankingScores, type RerankingScores, type ScoredQuery } from "./reranking.ts"
export { embeddingFidelity, rerankerFidelity, type EmbeddingFidelity, type RerankerFidelity } from "./fidelity.ts"
export { percentile, percentileOfSorted } from "./percentile.ts"
export { latencyStats, type LatencyOptions, type LatencyStats } from "./latency.ts"
