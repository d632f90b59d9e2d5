// Reading a JSON file that must match a schema — config.json, a sharded index, kiln.json,
// runtime.json, a lock file — in one place: unreadable, not JSON and not matching each give a
// JsonFileError naming the file, the field and what was expected, which callers map to their own
// tagged error (or pass `toError` to do it here).
import { readFileSync } from "node:fs"
import type { z } from "zod"
import { describeIssues, formatIssuePath } from "./describe-issue.ts"

export type JsonFileProblem = "unreadable" | "not-json" | "invalid"

export class JsonFileError extends Error {
  override readonly name = "JsonFileError"
  readonly _tag = "JsonFileError"
  constructor(
    readonly problem: JsonFileProblem,
    readonly path: string,
    /** The message without the path: what is wrong and what was expected. */
    readonly detail: string,
    /** The first failing field's path (`data_offsets[0]`), for "invalid". */
    readonly field?: string,
    options?: { readonly cause?: unknown },
  ) {
    super(`${path}: ${detail}`, options)
  }
}

/** Parses `text` (read from `path`) as JSON and validates it; `what` names the file's role in messages ("the model config"). */
export const parseJsonText = <S extends z.ZodType>(text: string, path: string, schema: S, what: string): z.output<S> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    throw new JsonFileError("not-json", path, `${what} is not valid JSON (${(cause as Error).message})`, undefined, { cause })
  }
  const parsed = schema.safeParse(json)
  if (parsed.success) return parsed.data
  const first = parsed.error.issues[0]
  throw new JsonFileError(
    "invalid",
    path,
    describeIssues(parsed.error, json, { schema, rootName: what }),
    first === undefined || first.path.length === 0 ? undefined : formatIssuePath(first.path),
    { cause: parsed.error },
  )
}

/**
 * Reads, parses and validates the JSON file at `path`. Failures are JsonFileError, or whatever
 * `toError` makes of one (a module's own tagged error).
 */
export const readJsonFile = <S extends z.ZodType>(path: string, schema: S, what: string, toError?: (error: JsonFileError) => Error): z.output<S> => {
  try {
    let text: string
    try {
      text = readFileSync(path, "utf8")
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code
      const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a folder" : (cause as Error).message
      throw new JsonFileError("unreadable", path, `cannot read ${what} (${why})`, undefined, { cause })
    }
    return parseJsonText(text, path, schema, what)
  } catch (error) {
    if (error instanceof JsonFileError && toError !== undefined) throw toError(error)
    throw error
  }
}
