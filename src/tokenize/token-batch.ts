// A tokenized batch laid out for ONNX Runtime: flat row-major [batch, seq] Int32Arrays (what the
// accelerator's int32 inputs take directly) with a conversion to BigInt64Array for int64 inputs.

/** One row before padding: ids and token type ids of equal length. */
export interface TokenRow {
  readonly ids: readonly number[]
  readonly typeIds: readonly number[]
}

export interface TokenBatch {
  /** [batch, seq] */
  readonly dims: readonly [number, number]
  readonly inputIds: Int32Array
  /** 1 for real tokens, 0 for padding (padding is on the right). */
  readonly attentionMask: Int32Array
  readonly tokenTypeIds: Int32Array
  /** Real (non-padding) tokens per row, specials included. */
  readonly lengths: Int32Array
}

/** Pads rows on the right with `padId` to `seqLength` (≥ every row's length). */
export const packRows = (rows: readonly TokenRow[], seqLength: number, padId: number): TokenBatch => {
  const batch = rows.length
  const inputIds = new Int32Array(batch * seqLength).fill(padId)
  const attentionMask = new Int32Array(batch * seqLength)
  const tokenTypeIds = new Int32Array(batch * seqLength)
  const lengths = new Int32Array(batch)
  rows.forEach((row, r) => {
    const offset = r * seqLength
    inputIds.set(row.ids, offset)
    tokenTypeIds.set(row.typeIds, offset)
    attentionMask.fill(1, offset, offset + row.ids.length)
    lengths[r] = row.ids.length
  })
  return { dims: [batch, seqLength], inputIds, attentionMask, tokenTypeIds, lengths }
}

/** The same values as int64, for ONNX inputs declared int64 (ORT rejects int32 data for them). */
export const toBigInt64 = (values: Int32Array): BigInt64Array => {
  const out = new BigInt64Array(values.length)
  for (let i = 0; i < values.length; i++) out[i] = BigInt(values[i] as number)
  return out
}

/** Row `r` of a [batch, seq] array as plain numbers, padding included. */
export const batchRow = (batch: TokenBatch, values: Int32Array, r: number): number[] => {
  const seq = batch.dims[1]
  return Array.from(values.subarray(r * seq, (r + 1) * seq))
}
