// GET /docs: the OpenAPI 3.1 document of the server, built from the same zod schemas the routes
// validate with (rendered by zod's JSON Schema support), so the document cannot drift from the code.
import { z } from "zod"
import type { PostRoute } from "./routes/route.ts"

const jsonSchema = (schema: z.ZodType, io: "input" | "output") => z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" })

const errorSchemas = {
  openai: { type: "object", properties: { error: { type: "object", properties: { message: { type: "string" }, type: { type: "string" }, param: { type: ["string", "null"] }, code: { type: "string" } } } } },
  tei: { type: "object", properties: { error: { type: "string" }, error_type: { type: "string" } } },
}

const json = (schema: unknown) => ({ content: { "application/json": { schema } } })

export const openApiDocument = (routes: readonly PostRoute[], info: { readonly title: string; readonly version: string }) => {
  const paths: Record<string, unknown> = {}
  for (const route of routes) {
    const error = (description: string) => ({ description, ...json(errorSchemas[route.dialect]) })
    paths[route.path] = {
      post: {
        summary: route.summary,
        requestBody: { required: true, ...json(jsonSchema(route.request, "input")) },
        responses: {
          200: { description: "OK", ...json(jsonSchema(route.response, "output")) },
          400: error("Invalid request: the message names the field"),
          408: error("The request body did not arrive in time"),
          413: error("Body, item count or an input's length over the limit"),
          429: { ...error("Queue full; see Retry-After"), headers: { "Retry-After": { schema: { type: "integer" } } } },
          503: error("Timed out in the queue, or the server is shutting down"),
        },
      },
    }
  }
  const text = (description: string, type = "application/json") => ({ get: { summary: description, responses: { 200: { description: "OK", content: { [type]: {} } } } } })
  Object.assign(paths, {
    "/health": text("200 when serving, 503 while draining"),
    "/info": text("Model and limits (TEI's /info shape)"),
    "/metrics": text("Prometheus metrics", "text/plain"),
    "/v1/models": text("The served model (OpenAI's list shape)"),
    "/docs": text("This document"),
  })
  return { openapi: "3.1.0", info, paths }
}
