// Reads a model folder's config.json as a JSON object, and validates its fields against a zod
// schema with errors that name the file, the field and what was expected. What the fields mean is
// the model family's business (src/families/<name>/config.ts); nothing here knows a family.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { z } from "zod"
import { CheckpointError } from "./errors.ts"

/** What a zod issue expected, in words, for the fields this schema has. */
const expectation = (issue: z.core.$ZodIssue): string => {
  switch (issue.code) {
    case "invalid_type":
      return issue.expected === "int" ? "an integer" : `${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected}`
    case "too_small":
      return issue.minimum === 0 && issue.inclusive === false ? "a positive number" : `a value ≥ ${String(issue.minimum)}`
    case "invalid_value":
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`
    default:
      return issue.message
  }
}

const valueAt = (json: Record<string, unknown>, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>((value, key) => (typeof value === "object" && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined), json)

/**
 * `json` (config.json read from `file`) checked against `schema`; the first problem is a
 * CheckpointError naming the file and the field, what was expected and what was found.
 */
export const parseConfigFields = <S extends z.ZodType>(schema: S, json: Readonly<Record<string, unknown>>, file: string): z.output<S> => {
  const parsed = schema.safeParse(json)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]!
  const field = issue.path.map(String).join(".")
  const value = valueAt(json as Record<string, unknown>, issue.path)
  const got = value === undefined ? "it is missing" : `got ${JSON.stringify(value)}`
  throw new CheckpointError("InvalidConfig", file, `field "${field}" must be ${expectation(issue)}; ${got}`, { field })
}

/** `<dir>/config.json` parsed as a JSON object (not yet validated: the family does that). */
export const readConfigJson = (dir: string): { readonly file: string; readonly json: Readonly<Record<string, unknown>> } => {
  const file = join(dir, "config.json")
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch (error) {
    throw new CheckpointError("NotFound", file, `cannot read the model config (${(error as Error).message})`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new CheckpointError("InvalidConfig", file, `not valid JSON (${(error as Error).message})`)
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new CheckpointError("InvalidConfig", file, "config.json must be a JSON object")
  }
  return { file, json: json as Record<string, unknown> }
}
