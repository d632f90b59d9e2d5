// Evaluation read from embedding sets instead of a running model: STS metrics of one set, and
// fidelity of a candidate set against a reference set — the figures, the per-text distribution
// behind them and the texts that drifted most. Pure math: nothing here runs a deployment.
import type { StsPair } from "../datasets/index.ts"
import { embeddingFidelity, pearson, percentileOfSorted, rerankerFidelity, rowCosineSimilarities, spearman, stsScores } from "../metrics/index.ts"
import type { FloatTensor } from "../tensor/index.ts"
import { distinctTexts } from "./dataset-files.ts"
import type { EmbeddingSet } from "./embedding-set.ts"

export type Metrics = Readonly<Record<string, number>>

/** Thrown when a set does not fit the dataset or the other set; the message says what to change. */
export class EmbeddingSetMismatch extends Error {
  override readonly name = "EmbeddingSetMismatch"
}

const clip = (text: string) => (text.length > 60 ? `${text.slice(0, 57)}...` : text)

/** Row of each text in `set`, failing on the first text the set was not computed for. */
const rowsOf = (set: EmbeddingSet, texts: readonly string[], what: string): number[] => {
  const index = new Map(set.texts.map((t, i) => [t, i]))
  return texts.map((t) => {
    const row = index.get(t)
    if (row === undefined) {
      throw new EmbeddingSetMismatch(`the ${what} embeddings have no row for the text "${clip(t)}"; embed the same dataset (and limit) that is evaluated`)
    }
    return row
  })
}

const gather = (t: FloatTensor, rows: readonly number[]): FloatTensor => {
  const dim = t.shape[1]!
  const data = new Float32Array(rows.length * dim)
  rows.forEach((row, i) => data.set(t.data.subarray(row * dim, (row + 1) * dim), i * dim))
  return { shape: [rows.length, dim], data }
}

/** The reranker score of each pair, looked up by its texts' rows. */
const pairScores = (set: EmbeddingSet & { task: "reranker" }, pairs: readonly StsPair[], what: string): Float64Array => {
  const first = rowsOf(set, pairs.map((p) => p.sentence1), what)
  const second = rowsOf(set, pairs.map((p) => p.sentence2), what)
  const score = new Map(set.pairs.map(([a, b], i) => [`${a} ${b}`, set.scores[i]!]))
  return Float64Array.from(pairs, (p, i) => {
    const s = score.get(`${first[i]} ${second[i]}`)
    if (s === undefined) throw new EmbeddingSetMismatch(`the ${what} scores have no score for the pair ("${clip(p.sentence1)}", "${clip(p.sentence2)}"); score the same dataset that is evaluated`)
    return s
  })
}

/** STS metrics of a set on its dataset: MTEB's evaluator for embedders, score correlations for rerankers. */
export const stsOfEmbeddings = (set: EmbeddingSet, pairs: readonly StsPair[]): Metrics => {
  const gold = pairs.map((p) => p.score)
  if (set.task === "embedder") {
    const first = gather(set.dense, rowsOf(set, pairs.map((p) => p.sentence1), "evaluated"))
    const second = gather(set.dense, rowsOf(set, pairs.map((p) => p.sentence2), "evaluated"))
    const { pairs: count, ...scores } = stsScores(first, second, gold)
    return { ...scores, pairs: count }
  }
  const scores = pairScores(set, pairs, "evaluated")
  return { score_spearman: spearman(gold, scores), score_pearson: pearson(gold, scores), main_score: spearman(gold, scores), pairs: pairs.length }
}

/** How the per-text (or per-pair) agreement is spread, for plotting. */
export interface Distribution {
  /** "cosine": per text, candidate vs reference (1 = identical); "abs_score_diff": per pair, |candidate − reference|. */
  readonly measure: "cosine" | "abs_score_diff"
  readonly quantiles: Readonly<Record<string, number>>
  /** Equal-width bins from the smallest to the largest value; counts[i] holds values in [edges[i], edges[i+1]) (the last bin closed). */
  readonly histogram: { readonly edges: readonly number[]; readonly counts: readonly number[] }
}

export type WorstCase =
  | { readonly text: string; readonly cosine: number }
  | { readonly sentence1: string; readonly sentence2: string; readonly reference: number; readonly candidate: number; readonly abs_diff: number }

export interface FidelityResult {
  /** The gate's figures: cosine_mean, cosine_p1, cosine_min, texts (embedders); score_* (rerankers). */
  readonly metrics: Metrics
  readonly distribution: Distribution
  /** The texts (pairs) that drifted most, worst first. */
  readonly worst: readonly WorstCase[]
}

const quantilePoints = [0, 1, 5, 10, 25, 50, 75, 90, 95, 99, 100]
const bins = 20

export const distributionOf = (measure: Distribution["measure"], values: Float64Array): Distribution => {
  const sorted = Float64Array.from(values).sort()
  const lo = sorted[0]!
  const hi = sorted[sorted.length - 1]!
  const count = hi > lo ? bins : 1
  const width = (hi - lo) / count
  const counts = new Array<number>(count).fill(0)
  for (const v of sorted) counts[width > 0 ? Math.min(count - 1, Math.floor((v - lo) / width)) : 0]! += 1
  return {
    measure,
    quantiles: Object.fromEntries(quantilePoints.map((p) => [`p${p}`, percentileOfSorted(sorted, p)])),
    histogram: { edges: Array.from({ length: count + 1 }, (_, i) => (i === count ? hi : lo + i * width)), counts },
  }
}

/** Indices of the `k` smallest keys, ties by position, so the list is the same on every run. */
const lowest = (keys: ArrayLike<number>, k: number): number[] =>
  Array.from({ length: keys.length }, (_, i) => i)
    .sort((a, b) => (keys[a] as number) - (keys[b] as number) || a - b)
    .slice(0, k)

const worstCount = 10

/**
 * Fidelity of `candidate` against `reference` on the dataset's texts: per-text cosine of dense
 * embeddings (mean, p1, min) for embedders; Spearman, Pearson, max |Δ| of pair scores for rerankers.
 */
export const fidelityOfEmbeddings = (candidate: EmbeddingSet, reference: EmbeddingSet, pairs: readonly StsPair[]): FidelityResult => {
  if (candidate.task !== reference.task) throw new EmbeddingSetMismatch(`fidelity: the candidate is an ${candidate.task} but the reference is an ${reference.task}`)
  if (candidate.input !== reference.input) {
    throw new EmbeddingSetMismatch(`fidelity: the candidate was embedded as ${candidate.input} texts but the reference as ${reference.input} texts; embed both with the same input mode`)
  }
  if (candidate.task === "embedder" && reference.task === "embedder") {
    const texts = distinctTexts(pairs)
    const ref = gather(reference.dense, rowsOf(reference, texts, "reference"))
    const cand = gather(candidate.dense, rowsOf(candidate, texts, "candidate"))
    const f = embeddingFidelity(ref, cand)
    const cosines = rowCosineSimilarities(ref, cand)
    return {
      metrics: { cosine_mean: f.mean, cosine_p1: f.p1, cosine_min: f.min, texts: f.rows },
      distribution: distributionOf("cosine", cosines),
      worst: lowest(cosines, worstCount).map((i) => ({ text: texts[i]!, cosine: cosines[i]! })),
    }
  }
  const ref = pairScores(reference as EmbeddingSet & { task: "reranker" }, pairs, "reference")
  const cand = pairScores(candidate as EmbeddingSet & { task: "reranker" }, pairs, "candidate")
  const f = rerankerFidelity(ref, cand)
  const diffs = Float64Array.from(ref, (r, i) => Math.abs(cand[i]! - r))
  return {
    metrics: { score_spearman: f.spearman, score_pearson: f.pearson, score_max_abs_diff: f.maxAbsDiff, pairs: pairs.length },
    distribution: distributionOf("abs_score_diff", diffs),
    worst: lowest(diffs.map((d) => -d), worstCount).map((i) => ({ sentence1: pairs[i]!.sentence1, sentence2: pairs[i]!.sentence2, reference: ref[i]!, candidate: cand[i]!, abs_diff: diffs[i]! })),
  }
}
