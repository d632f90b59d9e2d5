// The `input` / `inputs` field shared by the OpenAI and TEI embedding routes: a string, an array
// of strings, one token-id array or an array of token-id arrays. Checked in that order so an error
// names the exact item ("input[3]: expected string, received number") rather than a union's guess.
import { z } from "zod"
import type { TokenRow } from "../../tokenize/index.ts"
import { fromZod, HttpError, invalid } from "../errors.ts"
import type { ServedModel } from "../served-model.ts"
import { idRows, textRows } from "../token-rows.ts"

const NonEmptyText = z.string().min(1, { message: "must not be an empty string" })
const TokenId = z.number().int({ message: "expected a token id (a non-negative integer)" }).nonnegative({ message: "expected a token id (a non-negative integer)" })
const TokenIds = z.array(TokenId).min(1, { message: "must not be an empty token array" })

/** The field's schema as documented in /docs. */
export const EmbeddingInput = z.union([NonEmptyText, z.array(NonEmptyText), TokenIds, z.array(TokenIds)])

const parse = <T>(schema: z.ZodType<T>, value: unknown, field: string): T => {
  const parsed = schema.safeParse(value)
  if (parsed.success) return parsed.data
  throw fromZod(new z.ZodError(parsed.error.issues.map((issue) => ({ ...issue, path: [field, ...issue.path] }))))
}

const describe = (value: unknown): string => (value === null ? "null" : Array.isArray(value) ? "an array" : typeof value)

/** `value` (the request's `field`) as token rows, or a 4xx naming the item at fault. */
export const inputRows = (model: ServedModel, value: unknown, field: string, truncate: boolean, maxItems: number): TokenRow[] => {
  if (typeof value === "string") return textRows(model.tokenizer, [parse(NonEmptyText, value, field)], truncate, field)
  if (!Array.isArray(value)) throw invalid(field, `expected a string, an array of strings or token-id arrays, got ${describe(value)}`)
  if (value.length === 0) throw invalid(field, "expected at least one item, got an empty array")
  if (value.length > maxItems) throw new HttpError(413, "too-large", `${field}: ${value.length} items, more than the limit of ${maxItems} per request (--max-items)`, field)
  const first = value[0]
  if (typeof first === "string") return textRows(model.tokenizer, parse(z.array(NonEmptyText), value, field), truncate, field)
  const ids = typeof first === "number" ? [parse(TokenIds, value, field)] : Array.isArray(first) ? parse(z.array(TokenIds), value, field) : undefined
  if (ids === undefined) throw invalid(`${field}[0]`, `expected a string, a token id or a token-id array, got ${describe(first)}`)
  if (model.vocabSize === undefined) throw invalid(field, "token-id input needs the vocabulary size, and this deployment's config.json has no vocab_size; send text")
  // One token-id array is a single input: its errors name input[j], not input[0][j].
  const rowField = typeof first === "number" ? () => field : (i: number) => `${field}[${i}]`
  return idRows(ids, { maxLength: model.tokenizer.maxLength, vocabSize: model.vocabSize }, truncate, rowField)
}
