// POST /v1/embeddings in OpenAI's shape: `input` as a string, strings or token-id arrays, `model`
// (any name; the served model answers and is echoed back), `encoding_format` float or base64
// (little-endian float32, what the openai SDK requests by default), `dimensions` (only the model's
// own width: BGE models are not trained for truncated embeddings), and `usage` token counts.
import { z } from "zod"
import { fromZod, HttpError, invalid } from "../errors.ts"
import { EmbeddingInput, inputRows } from "./model-input.ts"
import type { PostRoute } from "./route.ts"

const Fields = {
  model: z.string().optional().describe("Any name; the served model answers"),
  encoding_format: z.enum(["float", "base64"]).default("float"),
  dimensions: z.number().int().positive().optional().describe("Must equal the model's embedding width"),
  user: z.string().optional(),
}
const Request = z.object({ input: z.unknown().optional(), ...Fields })

const Response = z.object({
  object: z.literal("list"),
  data: z.array(z.object({ object: z.literal("embedding"), index: z.number().int(), embedding: z.union([z.array(z.number()), z.string().describe("base64 of little-endian float32")]) })),
  model: z.string(),
  usage: z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }),
})

const base64 = (vector: Float32Array): string => Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString("base64")

export const openAiEmbeddings: PostRoute = {
  path: "/v1/embeddings",
  dialect: "openai",
  summary: "OpenAI-compatible embeddings",
  request: z.object({ input: EmbeddingInput, ...Fields }),
  response: Response,
  async handle(body, { model, signal, maxItems }) {
    const parsed = Request.safeParse(body)
    if (!parsed.success) throw fromZod(parsed.error)
    const request = parsed.data
    if (request.input === undefined) throw invalid("input", "required: a string, an array of strings or token-id arrays")
    if (model.dense === undefined) throw new HttpError(400, "validation", `this deployment is a reranker (task "${model.config.task}"): use POST /rerank`)
    const hidden = model.config.hiddenSize
    if (request.dimensions !== undefined && request.dimensions !== hidden) {
      throw invalid("dimensions", `${request.dimensions}: this model's embeddings have ${hidden} dimensions and are not trained to be truncated; omit it or send ${hidden}`)
    }
    // OpenAI refuses over-long input rather than cutting it; so does this route.
    const rows = inputRows(model, request.input, "input", false, maxItems)
    const vectors = await model.dense.submit(rows, signal)
    const tokens = rows.reduce((sum, row) => sum + row.ids.length, 0)
    return {
      body: {
        object: "list",
        data: vectors.map((vector, index) => ({ object: "embedding", index, embedding: request.encoding_format === "base64" ? base64(vector) : Array.from(vector) })),
        model: model.id,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      },
      items: rows.length,
      tokens,
    }
  },
}
