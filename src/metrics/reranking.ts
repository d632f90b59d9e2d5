// Ranking quality per query and over a set: average precision (as sklearn's
// average_precision_score, which MTEB's reranking evaluator uses), MAP and MRR@k.
//
// Ties: AP treats equal scores as one threshold, exactly like sklearn, so it does not depend on
// input order. MRR is pessimistic: a relevant document is ranked after every non-relevant one
// with the same score, so a model that outputs constant scores cannot score well by luck of
// the input order (datasets list positives first).

import { checkSameLength, checkSeries, MetricError } from "./errors.ts"

/** One query's model scores and relevance labels (true or > 0 = relevant), index-aligned. */
export interface ScoredQuery {
  readonly scores: ArrayLike<number>
  readonly relevance: ArrayLike<number | boolean>
}

export interface RerankingScores {
  /** Mean average precision over queries. */
  readonly map: number
  /** Mean reciprocal rank of the first relevant document within the top 10 (0 beyond). */
  readonly mrr_at_10: number
  readonly queries: number
}

const isRelevant = (label: number | boolean | undefined): boolean => label === true || (typeof label === "number" && label > 0)

const checkQuery = (metric: string, query: ScoredQuery, where: string): number => {
  const n = checkSeries(metric, `${where}scores`, query.scores)
  checkSameLength(metric, { label: `${where}scores`, length: n }, { label: `${where}relevance`, length: query.relevance.length })
  let relevant = 0
  for (let i = 0; i < n; i++) if (isRelevant(query.relevance[i])) relevant++
  if (relevant === 0) throw new MetricError(metric, "no-relevant", `${where}no document is labelled relevant, so the metric is undefined`)
  return relevant
}

const byScoreDescending = (scores: ArrayLike<number>): number[] =>
  Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number))

const averagePrecisionUnchecked = (query: ScoredQuery, totalRelevant: number): number => {
  const order = byScoreDescending(query.scores)
  let seen = 0
  let relevantSeen = 0
  let ap = 0
  let start = 0
  while (start < order.length) {
    const score = query.scores[order[start] as number]
    let end = start
    let relevantInGroup = 0
    while (end < order.length && query.scores[order[end] as number] === score) {
      if (isRelevant(query.relevance[order[end] as number])) relevantInGroup++
      end++
    }
    seen += end - start
    relevantSeen += relevantInGroup
    ap += (relevantInGroup / totalRelevant) * (relevantSeen / seen)
    start = end
  }
  return ap
}

const reciprocalRankUnchecked = (query: ScoredQuery, k: number): number => {
  let best = Number.NEGATIVE_INFINITY
  for (let i = 0; i < query.scores.length; i++) if (isRelevant(query.relevance[i])) best = Math.max(best, query.scores[i] as number)
  let rank = 1
  for (let i = 0; i < query.scores.length; i++) {
    const s = query.scores[i] as number
    if (s > best || (s === best && !isRelevant(query.relevance[i]))) rank++
  }
  return rank <= k ? 1 / rank : 0
}

export const averagePrecision = (scores: ArrayLike<number>, relevance: ArrayLike<number | boolean>): number => {
  const query = { scores, relevance }
  return averagePrecisionUnchecked(query, checkQuery("averagePrecision", query, ""))
}

/** 1 / rank of the first relevant document if it is within the top `k`, else 0. */
export const reciprocalRank = (scores: ArrayLike<number>, relevance: ArrayLike<number | boolean>, k = 10): number => {
  if (!Number.isInteger(k) || k < 1) throw new MetricError("reciprocalRank", "invalid-value", `k is ${k}, expected a positive integer`)
  const query = { scores, relevance }
  checkQuery("reciprocalRank", query, "")
  return reciprocalRankUnchecked(query, k)
}

export const rerankingScores = (queries: readonly ScoredQuery[]): RerankingScores => {
  if (queries.length === 0) throw new MetricError("reranking", "empty", "no queries, expected at least one")
  let apSum = 0
  let rrSum = 0
  queries.forEach((query, q) => {
    const relevant = checkQuery("reranking", query, `query ${q}: `)
    apSum += averagePrecisionUnchecked(query, relevant)
    rrSum += reciprocalRankUnchecked(query, 10)
  })
  return { map: apSum / queries.length, mrr_at_10: rrSum / queries.length, queries: queries.length }
}
