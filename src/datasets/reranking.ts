// Reranking queries from JSON lines in either of two layouts, detected per line:
// `{query, positive_passages: [{text, ...}], negative_passages: [...]}` (zyznull/msmarco-passage-ranking,
// Tevatron style) or `{query, pos: string[], neg: string[]}` (FlagEmbedding's examples).

import { z } from "zod"
import { describeIssues, showValue } from "../schema/index.ts"
import { loadJsonLines, parseJsonLines, type LineDecoder } from "./json-lines.ts"
import type { LoadOptions } from "./read-text.ts"

/** A query with the passages judged relevant and not relevant, in file order. */
export interface RerankQuery {
  readonly query: string
  readonly positives: readonly string[]
  readonly negatives: readonly string[]
}

export interface RerankingLoadOptions extends LoadOptions {
  /**
   * Drop queries with no positive or no negative passage instead of failing. MTEB's reranking
   * evaluator skips such queries; the default is to fail because a query with nothing to rank
   * against scores a perfect AP and silently inflates MAP.
   */
  readonly skipIncomplete?: boolean
}

// Passage titles are ignored: MS MARCO passages have none worth scoring and the seed's numbers use text only.
const Passage = z.object({ text: z.string() })
const PassageLayout = z.object({ query: z.string(), positive_passages: z.array(Passage), negative_passages: z.array(Passage) })
const PosNegLayout = z.object({ query: z.string(), pos: z.array(z.string()), neg: z.array(z.string()) })

const passageKeys = ["positive_passages", "negative_passages"] as const
const posNegKeys = ["pos", "neg"] as const

const emptyListDetail = (field: string): string =>
  `${field} must have at least 1 passage, got an empty array (set skipIncomplete to drop such queries)`

const decoderFor = (options: RerankingLoadOptions | undefined): LineDecoder<RerankQuery> => (value) => {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return { ok: false, detail: `the line must be an object, got ${showValue(value)}` }
  const usesPassages = passageKeys.some((key) => key in value)
  const usesPosNeg = posNegKeys.some((key) => key in value)
  if (usesPassages === usesPosNeg) {
    const why = usesPassages ? "both layouts' fields" : "neither layout's fields"
    return { ok: false, detail: `expected either {query, positive_passages, negative_passages} or {query, pos, neg}, got ${why}` }
  }

  const [positiveField, negativeField] = usesPassages ? passageKeys : posNegKeys
  let query: RerankQuery
  if (usesPassages) {
    const parsed = PassageLayout.safeParse(value)
    if (!parsed.success) return { ok: false, detail: describeIssues(parsed.error, value, { schema: PassageLayout, rootName: "the line" }) }
    const p = parsed.data
    query = { query: p.query, positives: p.positive_passages.map((x) => x.text), negatives: p.negative_passages.map((x) => x.text) }
  } else {
    const parsed = PosNegLayout.safeParse(value)
    if (!parsed.success) return { ok: false, detail: describeIssues(parsed.error, value, { schema: PosNegLayout, rootName: "the line" }) }
    query = { query: parsed.data.query, positives: parsed.data.pos, negatives: parsed.data.neg }
  }

  const emptyField = query.positives.length === 0 ? positiveField : query.negatives.length === 0 ? negativeField : undefined
  if (emptyField === undefined) return { ok: true, value: query }
  return options?.skipIncomplete === true ? "skip" : { ok: false, detail: emptyListDetail(emptyField) }
}

export const parseRerankingJsonl = (text: string, file: string, options?: RerankingLoadOptions): RerankQuery[] =>
  parseJsonLines(text, file, decoderFor(options), options)

export const loadRerankingJsonl = (file: string, options?: RerankingLoadOptions): Promise<RerankQuery[]> =>
  loadJsonLines(file, decoderFor(options), options)
