// What a POST route is: its path, its API dialect (how its errors look), the request schema the
// OpenAPI document shows, and a handler from the parsed JSON body to a JSON response.
import type { z } from "zod"
import type { ServedModel } from "../served-model.ts"

export type Dialect = "openai" | "tei"

export interface RouteContext {
  readonly model: ServedModel
  /** Aborts when the client goes away or the request's time is up. */
  readonly signal: AbortSignal
  readonly maxItems: number
}

export interface RouteResult {
  readonly body: unknown
  /** For the access log: texts (or pairs) and tokens the request ran. */
  readonly items: number
  readonly tokens: number
}

export interface PostRoute {
  readonly path: string
  readonly dialect: Dialect
  readonly summary: string
  /** The request body as documented (zod, rendered to JSON Schema for /docs). */
  readonly request: z.ZodType
  /** The response body as documented. */
  readonly response: z.ZodType
  readonly handle: (body: unknown, context: RouteContext) => Promise<RouteResult>
}
