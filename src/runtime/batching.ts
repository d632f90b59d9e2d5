// Batch planning for encoder inputs: dynamic-shape models get rows sorted by token length (longest
// first) so each batch pads only to its own longest row; results are scattered back by index so
// the caller's order is kept. Static-shape models keep the order and pad every row to seqlen.
import type { TokenBatch } from "../tokenize/index.ts"
import { RuntimeError } from "./errors.ts"

/**
 * Row indices grouped into batches of at most `batchSize`. With `sortByLength` the rows are
 * ordered by length, longest first (stable for equal lengths): big batches start first, which
 * also balances several sessions better.
 */
export const planBatches = (lengths: ArrayLike<number>, batchSize: number, sortByLength: boolean): number[][] => {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RuntimeError("invalid-option", `option "batchSize": ${batchSize}, expected a positive integer`)
  const order = Array.from({ length: lengths.length }, (_, i) => i)
  if (sortByLength) order.sort((a, b) => (lengths[b] as number) - (lengths[a] as number) || a - b)
  const batches: number[][] = []
  for (let start = 0; start < order.length; start += batchSize) batches.push(order.slice(start, start + batchSize))
  return batches
}

/**
 * Rows `indices` of `source` as a new batch right-padded with `padId` to `seqLength` (each row is
 * cut at seqLength). `rows` > indices.length fills a fixed batch dimension by repeating the first
 * row, whose outputs the caller ignores.
 */
export const gatherRows = (source: TokenBatch, indices: readonly number[], seqLength: number, padId: number, rows = indices.length): TokenBatch => {
  const sourceSeq = source.dims[1]
  const inputIds = new Int32Array(rows * seqLength).fill(padId)
  const attentionMask = new Int32Array(rows * seqLength)
  const tokenTypeIds = new Int32Array(rows * seqLength)
  const lengths = new Int32Array(rows)
  for (let r = 0; r < rows; r++) {
    const from = indices[r] ?? indices[0]
    if (from === undefined) throw new RuntimeError("invalid-input", "gatherRows: no rows to gather")
    const length = Math.min(source.lengths[from] as number, seqLength)
    const start = from * sourceSeq
    inputIds.set(source.inputIds.subarray(start, start + length), r * seqLength)
    tokenTypeIds.set(source.tokenTypeIds.subarray(start, start + length), r * seqLength)
    attentionMask.fill(1, r * seqLength, r * seqLength + length)
    lengths[r] = length
  }
  return { dims: [rows, seqLength], inputIds, attentionMask, tokenTypeIds, lengths }
}

/** The longest row among `indices`. */
export const longestRow = (source: TokenBatch, indices: readonly number[]): number => indices.reduce((m, i) => Math.max(m, source.lengths[i] as number), 0)
