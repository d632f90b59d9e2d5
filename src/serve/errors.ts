// The server's errors. HttpError is what a request gets back: a status, a message naming the field
// at fault and what was expected, and a kind each API dialect renders its own way (OpenAI's
// {error: {message, type, param}}, TEI's {error, error_type}). ServeError is a failure to start.
import type { z } from "zod"

export type HttpErrorKind = "validation" | "too-large" | "queue-full" | "timeout" | "unavailable" | "not-found" | "internal"

export class HttpError extends Error {
  override readonly name = "HttpError"
  readonly _tag = "HttpError"
  constructor(
    readonly status: number,
    readonly kind: HttpErrorKind,
    message: string,
    /** The request field at fault, e.g. "input[3]". */
    readonly field?: string,
    /** Seconds, sent as Retry-After (429, 503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message)
  }
}

/** 400 naming `field`. */
export const invalid = (field: string, expected: string): HttpError => new HttpError(400, "validation", `${field}: ${expected}`, field)

/** 413 for an item over the model's length limit, naming it. */
export const tooLong = (field: string, expected: string): HttpError => new HttpError(413, "too-large", `${field}: ${expected}`, field)

/** A JSON path as written in the request: input[3], texts[0], body. */
export const fieldPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : out === "" ? String(key) : `${out}.${String(key)}`), "") || "body"

/** The first zod issue as a 400 naming its field. */
export const fromZod = (error: z.ZodError): HttpError => {
  const issue = error.issues[0]
  if (issue === undefined) return new HttpError(400, "validation", "body: invalid", "body")
  const field = fieldPath(issue.path)
  return invalid(field, issue.message)
}

export type ServeErrorReason = "invalid-source" | "invalid-option" | "load-failed" | "listen-failed"

export class ServeError extends Error {
  override readonly name = "ServeError"
  readonly _tag = "ServeError"
  constructor(
    readonly reason: ServeErrorReason,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
  }
}
