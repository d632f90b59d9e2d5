// Reads a model folder's config.json as a JSON object, and validates its fields against a zod
// schema with errors that name the file, the field and what was expected. What the fields mean is
// the model family's business (src/families/<name>/config.ts); nothing here knows a family.
import { join } from "node:path"
import { z } from "zod"
import { describeIssue, formatIssuePath, readJsonFile } from "../schema/index.ts"
import { CheckpointError } from "./errors.ts"

/**
 * `json` (config.json read from `file`) checked against `schema`; the first problem is a
 * CheckpointError naming the file and the field, what was expected and what was found.
 */
export const parseConfigFields = <S extends z.ZodType>(schema: S, json: Readonly<Record<string, unknown>>, file: string): z.output<S> => {
  const parsed = schema.safeParse(json)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]!
  throw new CheckpointError("InvalidConfig", file, describeIssue(issue, json, { schema }), { field: formatIssuePath(issue.path) })
}

/** `<dir>/config.json` parsed as a JSON object (not yet validated: the family does that). */
export const readConfigJson = (dir: string): { readonly file: string; readonly json: Readonly<Record<string, unknown>> } => {
  const file = join(dir, "config.json")
  const json = readJsonFile(file, z.unknown(), "the model config", (error) =>
    new CheckpointError(error.problem === "unreadable" ? "NotFound" : "InvalidConfig", file, error.detail),
  )
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new CheckpointError("InvalidConfig", file, "config.json must be a JSON object")
  }
  return { file, json: json as Record<string, unknown> }
}
