// What embedding models make of last_hidden_state: CLS, mean and last-token pooling
// (L2-normalised), and bge-m3's sparse and ColBERT heads.

import { l2Normalize, linear, mapInPlace, matrix, relu, type Matrix64 } from "./math.ts"

/** Dense BGE embedding: the first ([CLS] / <s>) token, L2-normalised. */
export const clsEmbedding = (hidden: Matrix64): Float64Array => l2Normalize(hidden.data.slice(0, hidden.cols))

/** The last token whose attention mask is 1 (left or right padding alike), L2-normalised. */
export const lastTokenEmbedding = (hidden: Matrix64, attentionMask: readonly number[]): Float64Array => {
  const last = attentionMask.lastIndexOf(1)
  return l2Normalize(hidden.data.slice(Math.max(last, 0) * hidden.cols, (Math.max(last, 0) + 1) * hidden.cols))
}

/** Mask-weighted mean over tokens (sentence-transformers style, count clamped at 1e-9), L2-normalised. */
export const meanEmbedding = (hidden: Matrix64, attentionMask: readonly number[]): Float64Array => {
  const sum = new Float64Array(hidden.cols)
  let count = 0
  for (let t = 0; t < hidden.rows; t++) {
    const m = attentionMask[t]!
    count += m
    for (let c = 0; c < hidden.cols; c++) sum[c] = sum[c]! + m * hidden.data[t * hidden.cols + c]!
  }
  const denominator = Math.max(count, 1e-9)
  return l2Normalize(sum.map((value) => value / denominator))
}

/** bge-m3 sparse head: relu(sparse_linear(h)) per token, [L]. */
export const sparseTokenWeights = (hidden: Matrix64, weight: Float64Array, bias: Float64Array): Float64Array =>
  mapInPlace(linear(hidden, weight, bias, 1), relu).data

/** bge-m3 ColBERT head: normalize(colbert_linear(h[1:]) · mask[1:]), [L − 1, C]. */
export const colbertVectors = (
  hidden: Matrix64,
  attentionMask: readonly number[],
  weight: Float64Array,
  bias: Float64Array,
  dim: number,
): Matrix64 => {
  const rest = matrix(hidden.rows - 1, hidden.cols, hidden.data.slice(hidden.cols))
  const projected = linear(rest, weight, bias, dim)
  const out = matrix(rest.rows, dim)
  for (let t = 0; t < rest.rows; t++) {
    const m = attentionMask[t + 1]!
    const row = projected.data.slice(t * dim, (t + 1) * dim).map((value) => value * m)
    out.data.set(l2Normalize(row), t * dim)
  }
  return out
}

/**
 * FlagEmbedding's lexical weights: for each token id (special ids skipped) the largest positive
 * sparse weight it received in the sequence.
 */
export const lexicalWeights = (
  inputIds: readonly number[],
  tokenWeights: ArrayLike<number>,
  skipIds: ReadonlySet<number>,
): Map<number, number> => {
  const result = new Map<number, number>()
  inputIds.forEach((id, t) => {
    const weight = tokenWeights[t]!
    if (skipIds.has(id) || weight <= 0) return
    if (weight > (result.get(id) ?? 0)) result.set(id, weight)
  })
  return result
}
