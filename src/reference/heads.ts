// What BGE models make of last_hidden_state: CLS and mean pooling (L2-normalised), the
// sequence-classification score of rerankers, and bge-m3's sparse and ColBERT heads.

import type { EncoderConfig } from "../checkpoint/encoder-config.ts"
import { l2Normalize, linear, mapInPlace, matrix, relu, type Matrix64 } from "./math.ts"
import type { WeightLookup } from "./weights.ts"

/** Dense BGE embedding: the first ([CLS] / <s>) token, L2-normalised. */
export const clsEmbedding = (hidden: Matrix64): Float64Array => l2Normalize(hidden.data.slice(0, hidden.cols))

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

const firstToken = (hidden: Matrix64): Matrix64 => matrix(1, hidden.cols, hidden.data.slice(0, hidden.cols))

/**
 * Sequence-classification logits from the first token. XLM-R (RobertaClassificationHead):
 * classifier.dense → tanh → classifier.out_proj. BERT: pooler.dense → tanh → classifier.
 */
export const rerankerLogits = (config: EncoderConfig, weights: WeightLookup, hidden: Matrix64): Float64Array => {
  const H = config.hiddenSize
  const robertaHead = weights.has("classifier.dense.weight")
  const [denseName, outName] = robertaHead ? ["classifier.dense", "classifier.out_proj"] : ["pooler.dense", "classifier"]
  const labels = config.numLabels > 0 ? config.numLabels : (weights.find(`${outName}.weight`)?.shape[0] ?? 1)
  const pooled = mapInPlace(
    linear(firstToken(hidden), weights.float64(`${denseName}.weight`, [H, H]), weights.float64(`${denseName}.bias`, [H]), H),
    Math.tanh,
  )
  return linear(pooled, weights.float64(`${outName}.weight`, [labels, H]), weights.float64(`${outName}.bias`, [labels]), labels).data
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
