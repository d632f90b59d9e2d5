// Similarity and distances between embedding vectors, and their row-wise versions over two
// matrices (what sklearn's paired_cosine/manhattan/euclidean_distances compute, as similarities).

import { checkSameLength, checkSeries, MetricError } from "./errors.ts"
import { pairedRows, type Embeddings } from "./embeddings.ts"

const checkVectors = (metric: string, a: ArrayLike<number>, b: ArrayLike<number>): void => {
  checkSeries(metric, "a", a)
  checkSeries(metric, "b", b)
  checkSameLength(metric, { label: "a", length: a.length }, { label: "b", length: b.length })
}

const cosineUnchecked = (a: ArrayLike<number>, b: ArrayLike<number>, where: string): number => {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number
    const y = b[i] as number
    dot += x * y
    na += x * x
    nb += y * y
  }
  // A zero embedding has no direction; sklearn would silently call it similarity 0.
  if (na === 0 || nb === 0) throw new MetricError("cosine", "zero-vector", `${where}${na === 0 ? "first" : "second"} vector is all zeros, so its cosine is undefined`)
  return Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb)))
}

const manhattanUnchecked = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] as number) - (b[i] as number))
  return sum
}

const euclideanUnchecked = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let sum = 0
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number)
    sum += d * d
  }
  return Math.sqrt(sum)
}

export const cosineSimilarity = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  checkVectors("cosine", a, b)
  return cosineUnchecked(a, b, "")
}

export const manhattanDistance = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  checkVectors("manhattan", a, b)
  return manhattanUnchecked(a, b)
}

export const euclideanDistance = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  checkVectors("euclidean", a, b)
  return euclideanUnchecked(a, b)
}

const rowWise = (metric: string, a: Embeddings, b: Embeddings, f: (x: ArrayLike<number>, y: ArrayLike<number>, r: number) => number): Float64Array => {
  const [rowsA, rowsB] = pairedRows(metric, a, b)
  const out = new Float64Array(rowsA.length)
  for (let r = 0; r < rowsA.length; r++) {
    const x = rowsA[r] as ArrayLike<number>
    const y = rowsB[r] as ArrayLike<number>
    checkSeries(metric, `embeddings1 row ${r}`, x)
    checkSeries(metric, `embeddings2 row ${r}`, y)
    out[r] = f(x, y, r)
  }
  return out
}

/** Cosine similarity of row i of `a` with row i of `b`. */
export const rowCosineSimilarities = (a: Embeddings, b: Embeddings): Float64Array =>
  rowWise("cosine", a, b, (x, y, r) => cosineUnchecked(x, y, `row ${r}: `))

export const rowManhattanDistances = (a: Embeddings, b: Embeddings): Float64Array => rowWise("manhattan", a, b, manhattanUnchecked)

export const rowEuclideanDistances = (a: Embeddings, b: Embeddings): Float64Array => rowWise("euclidean", a, b, euclideanUnchecked)
