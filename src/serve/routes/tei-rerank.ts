// POST /rerank in text-embeddings-inference's shape: `query`, `texts`, `raw_scores` (default false:
// sigmoid of the logit), `return_text`; answers [{index, score, text?}] best first. Pairs are
// truncated as FlagEmbedding does (query to ¾ of the max length, then the text), always.
import { z } from "zod"
import { fromZod, HttpError } from "../errors.ts"
import { pairRows } from "../token-rows.ts"
import type { PostRoute } from "./route.ts"

const NonEmptyText = z.string().min(1, { message: "must not be an empty string" })
const Request = z.object({
  query: NonEmptyText,
  texts: z.array(NonEmptyText).min(1, { message: "expected at least one text, got an empty array" }),
  truncate: z.boolean().default(true).describe("Pairs are always truncated as FlagEmbedding does"),
  raw_scores: z.boolean().default(false).describe("The logit instead of its sigmoid"),
  return_text: z.boolean().default(false),
})

export const teiRerank: PostRoute = {
  path: "/rerank",
  dialect: "tei",
  summary: "Rerank texts against a query (TEI)",
  request: Request,
  response: z.array(z.object({ index: z.number().int(), score: z.number(), text: z.string().optional() })),
  async handle(body, { model, signal, maxItems }) {
    const texts = (body as { texts?: unknown } | null)?.texts
    if (Array.isArray(texts) && texts.length > maxItems) {
      throw new HttpError(413, "too-large", `texts: ${texts.length} items, more than the limit of ${maxItems} per request (--max-items)`, "texts")
    }
    const parsed = Request.safeParse(body)
    if (!parsed.success) throw fromZod(parsed.error)
    const request = parsed.data
    if (model.rerank === undefined) throw new HttpError(400, "validation", `this deployment (task "${model.config.task}") is not a reranker: use POST /embed or /v1/embeddings`)
    const rows = pairRows(model.tokenizer, request.query, request.texts)
    const logits = await model.rerank.submit(rows, signal)
    const ranked = logits
      .map((logit, index) => ({ index, score: request.raw_scores ? logit : 1 / (1 + Math.exp(-logit)), ...(request.return_text ? { text: request.texts[index]! } : {}) }))
      .sort((a, b) => b.score - a.score || a.index - b.index)
    return { body: ranked, items: rows.length, tokens: rows.reduce((sum, row) => sum + row.ids.length, 0) }
  },
}
