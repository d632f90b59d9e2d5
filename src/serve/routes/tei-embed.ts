// POST /embed and POST /embed_sparse in Hugging Face text-embeddings-inference's shape: `inputs` as
// a string, strings or token-id arrays; `truncate` (default false: over-long input is a 413);
// `normalize` for /embed. /embed answers [[float]]; /embed_sparse answers bge-m3's lexical weights
// as [[{index, value}]] (token id, weight), ids ascending.
import { z } from "zod"
import { fromZod, HttpError, invalid } from "../errors.ts"
import type { ServedModel } from "../served-model.ts"
import { EmbeddingInput, inputRows } from "./model-input.ts"
import type { PostRoute } from "./route.ts"

const Common = {
  truncate: z.boolean().default(false).describe("Cut inputs over the model's max length instead of refusing them"),
  truncation_direction: z.enum(["Right", "right"]).optional().describe("Only right truncation"),
}
const EmbedFields = { ...Common, normalize: z.boolean().default(true) }
const EmbedRequest = z.object({ inputs: z.unknown().optional(), ...EmbedFields })
const SparseRequest = z.object({ inputs: z.unknown().optional(), ...Common })

const parse = <T>(schema: z.ZodType<T>, body: unknown): T => {
  const parsed = schema.safeParse(body)
  if (!parsed.success) throw fromZod(parsed.error)
  if ((parsed.data as { inputs?: unknown }).inputs === undefined) throw invalid("inputs", "required: a string, an array of strings or token-id arrays")
  return parsed.data
}

const notFor = (model: ServedModel, what: string): HttpError =>
  new HttpError(400, "validation", `this deployment (task "${model.config.task}") has no ${what}`)

export const teiEmbed: PostRoute = {
  path: "/embed",
  dialect: "tei",
  summary: "Dense embeddings (TEI)",
  request: z.object({ inputs: EmbeddingInput, ...EmbedFields }),
  response: z.array(z.array(z.number())),
  async handle(body, { model, signal, maxItems }) {
    const request = parse(EmbedRequest, body)
    if (model.dense === undefined) throw notFor(model, "embeddings: use POST /rerank")
    if (!request.normalize && model.config.normalize) {
      throw invalid("normalize", "false is not available: this deployment L2-normalises its embeddings")
    }
    const rows = inputRows(model, request.inputs, "inputs", request.truncate, maxItems)
    const vectors = await model.dense.submit(rows, signal)
    return { body: vectors.map((v) => Array.from(v)), items: rows.length, tokens: rows.reduce((sum, row) => sum + row.ids.length, 0) }
  },
}

export const teiEmbedSparse: PostRoute = {
  path: "/embed_sparse",
  dialect: "tei",
  summary: "bge-m3 lexical weights (TEI's sparse shape)",
  request: z.object({ inputs: EmbeddingInput, ...Common }),
  response: z.array(z.array(z.object({ index: z.number().int(), value: z.number() }))),
  async handle(body, { model, signal, maxItems }) {
    const request = parse(SparseRequest, body)
    if (model.sparse === undefined) throw notFor(model, "lexical weights (only bge-m3 deployments with a sparse output do)")
    const rows = inputRows(model, request.inputs, "inputs", request.truncate, maxItems)
    const weights = await model.sparse.submit(rows, signal)
    return {
      body: weights.map((w) => [...w.entries()].sort((a, b) => a[0] - b[0]).map(([index, value]) => ({ index, value }))),
      items: rows.length,
      tokens: rows.reduce((sum, row) => sum + row.ids.length, 0),
    }
  },
}
