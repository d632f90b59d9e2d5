// Request inputs as token rows for the batcher: texts through the deployment's tokenizer (with a
// length check: too long is an error naming the item unless the client asked to truncate), token-id
// arrays as given (checked against the vocabulary and the length limit), reranker pairs by
// FlagEmbedding's rules. Counting tokens here is what lets the batcher budget by tokens.
import type { TextTokenizer, TokenBatch, TokenRow } from "../tokenize/index.ts"
import { invalid, tooLong } from "./errors.ts"

/** Rows of a packed batch without their padding. */
const rowsOf = (batch: TokenBatch): TokenRow[] => {
  const seq = batch.dims[1]
  return Array.from({ length: batch.dims[0] }, (_, r) => {
    const length = batch.lengths[r] as number
    return { ids: Array.from(batch.inputIds.subarray(r * seq, r * seq + length)), typeIds: Array.from(batch.tokenTypeIds.subarray(r * seq, r * seq + length)) }
  })
}

/**
 * Texts as rows, specials included. Over the tokenizer's max length: cut when `truncate`, else a
 * 413 naming `field[i]`. Encoding one token past the limit tells "too long" apart without padding
 * every row to an unbounded length.
 */
export const textRows = (tokenizer: TextTokenizer, texts: readonly string[], truncate: boolean, field: string): TokenRow[] => {
  const limit = tokenizer.maxLength
  const probe = tokenizer.encode(texts, { padding: "longest", maxLength: limit + 1, instruction: "" })
  const over = Array.from(probe.lengths).findIndex((length) => length > limit)
  if (over < 0) return rowsOf(probe)
  if (!truncate) {
    throw tooLong(`${field}[${over}]`, `longer than the model's ${limit}-token limit (special tokens included); shorten it or send truncate: true`)
  }
  return rowsOf(tokenizer.encode(texts, { padding: "longest", instruction: "" }))
}

/**
 * Token-id arrays taken as the model's whole input, special tokens included (as TEI takes them):
 * each id must be inside the vocabulary; a row over the limit is cut when `truncate`, else a 413.
 */
export const idRows = (
  ids: readonly (readonly number[])[],
  limits: { readonly maxLength: number; readonly vocabSize: number },
  truncate: boolean,
  /** The request field holding row i, e.g. input[i] (or input itself for a single array). */
  field: (i: number) => string,
): TokenRow[] =>
  ids.map((row, i) => {
    const bad = row.findIndex((id) => id >= limits.vocabSize)
    if (bad >= 0) throw invalid(`${field(i)}[${bad}]`, `token id ${row[bad]} is outside the vocabulary (ids 0 to ${limits.vocabSize - 1})`)
    if (row.length > limits.maxLength && !truncate) {
      throw tooLong(field(i), `${row.length} tokens, more than the model's ${limits.maxLength}-token limit; shorten it or send truncate: true`)
    }
    const kept = row.slice(0, limits.maxLength)
    return { ids: kept, typeIds: kept.map(() => 0) }
  })

/** (query, text) pairs for a reranker, truncated as FlagEmbedding does (query to ¾ of the limit, then the text). */
export const pairRows = (tokenizer: TextTokenizer, query: string, texts: readonly string[]): TokenRow[] =>
  rowsOf(tokenizer.encodePairs(texts.map((text) => [query, text] as const), { padding: "longest" }))
