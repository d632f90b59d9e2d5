// Embedding matrices as the metrics accept them: a row-major [rows, dim] FloatTensor or a list of
// row vectors, viewed uniformly as rows without copying.

import type { FloatTensor } from "../tensor/index.ts"
import { checkSameLength, MetricError } from "./errors.ts"

export type Embeddings = FloatTensor | readonly ArrayLike<number>[]

const isTensor = (e: Embeddings): e is FloatTensor => !Array.isArray(e)

/** The rows of an embedding matrix, all of one non-zero width. */
export const embeddingRows = (metric: string, label: string, embeddings: Embeddings): readonly ArrayLike<number>[] => {
  let rows: readonly ArrayLike<number>[]
  if (isTensor(embeddings)) {
    const [count, dim, ...rest] = embeddings.shape
    if (count === undefined || dim === undefined || rest.length > 0) {
      throw new MetricError(metric, "invalid-value", `${label} has shape [${embeddings.shape.join(", ")}], expected [rows, dim]`)
    }
    if (embeddings.data.length !== count * dim) {
      throw new MetricError(metric, "invalid-value", `${label} has ${embeddings.data.length} values, expected ${count}×${dim}`)
    }
    rows = Array.from({ length: count }, (_, r) => embeddings.data.subarray(r * dim, (r + 1) * dim))
  } else {
    rows = embeddings
  }
  if (rows.length === 0) throw new MetricError(metric, "empty", `${label} has no rows, expected at least one embedding`)
  const dim = rows[0]?.length ?? 0
  if (dim === 0) throw new MetricError(metric, "empty", `${label} rows have no values, expected dim ≥ 1`)
  rows.forEach((row, r) => {
    if (row.length !== dim) throw new MetricError(metric, "length-mismatch", `${label} row ${r} has ${row.length} values but row 0 has ${dim}`)
  })
  return rows
}

/** Rows of two matrices that are compared row by row: same count, same width. */
export const pairedRows = (metric: string, a: Embeddings, b: Embeddings): [readonly ArrayLike<number>[], readonly ArrayLike<number>[]] => {
  const rowsA = embeddingRows(metric, "embeddings1", a)
  const rowsB = embeddingRows(metric, "embeddings2", b)
  checkSameLength(metric, { label: "embeddings1 (rows)", length: rowsA.length }, { label: "embeddings2 (rows)", length: rowsB.length })
  checkSameLength(metric, { label: "embeddings1 (dim)", length: rowsA[0]?.length ?? 0 }, { label: "embeddings2 (dim)", length: rowsB[0]?.length ?? 0 })
  return [rowsA, rowsB]
}
