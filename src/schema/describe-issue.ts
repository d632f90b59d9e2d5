// Zod issues as sentences a user can act on — `data_offsets[0] must be ≥ 0, got -1`,
// `hidden_size must be a positive integer, got -3`, `task is missing (expected one of "embedding",
// "reranker")` — instead of the schema library's notation. One wording for every module that
// validates input (config files, option objects, CLI flags, data lines), so messages read alike.
import type { z } from "zod"

type Issue = z.core.$ZodIssue
type AnySchema = z.core.$ZodType

/** `a.b[0].c`: object keys joined by dots, array indices in brackets. */
export const formatIssuePath = (path: readonly PropertyKey[]): string => {
  let out = ""
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`
    else out += out === "" ? String(key) : `.${String(key)}`
  }
  return out
}

const valueAt = (root: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } => {
  let current: unknown = root
  for (const key of path) {
    if (current === null || typeof current !== "object" || !(key in current)) return { found: false, value: undefined }
    current = (current as Record<PropertyKey, unknown>)[key]
  }
  return { found: true, value: current }
}

/** A value as it appears in a message: short JSON, or its kind when long. */
export const showValue = (value: unknown): string => {
  if (value === undefined) return "nothing"
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : `an array of ${value.length}`
  if (typeof value === "object" && value !== null) return "an object"
  const json = typeof value === "bigint" ? String(value) : JSON.stringify(value)
  return json.length > 40 ? `${typeof value === "string" ? "a string" : typeof value} of ${json.length} characters` : json
}

/** The schema at `path` inside `schema`, through objects, tuples, arrays, records and wrappers. */
const schemaAt = (schema: AnySchema | undefined, path: readonly PropertyKey[]): AnySchema | undefined => {
  let current = schema
  const unwrap = (): void => {
    for (let guard = 0; current !== undefined && guard < 16; guard++) {
      const def = current._zod.def as { type: string; innerType?: AnySchema; in?: AnySchema; out?: AnySchema }
      if (def.innerType !== undefined) current = def.innerType
      else if (def.type === "pipe") current = def.out?._zod.def.type === "transform" ? def.in : def.out
      else return
    }
  }
  for (const key of path) {
    unwrap()
    if (current === undefined) return undefined
    const def = current._zod.def as { type: string; shape?: Record<string, AnySchema>; items?: AnySchema[]; element?: AnySchema; valueType?: AnySchema }
    if (def.type === "object") current = def.shape?.[String(key)]
    else if (def.type === "tuple") current = typeof key === "number" ? def.items?.[key] : undefined
    else if (def.type === "array") current = def.element
    else if (def.type === "record") current = def.valueType
    else return undefined
  }
  unwrap()
  return current
}

/** z.int() (a format) or z.number().int() (a number_format check). */
const isIntegerSchema = (schema: AnySchema | undefined): boolean => {
  const def = schema?._zod.def as { format?: string; checks?: readonly { _zod: { def: { check?: string; format?: string } } }[] } | undefined
  const formats = [def?.format, ...(def?.checks ?? []).map((c) => (c._zod.def.check === "number_format" ? c._zod.def.format : undefined))]
  return formats.some((format) => format !== undefined && /int/.test(format))
}

const article = (noun: string): string => `${/^[aeiou]/.test(noun) ? "an" : "a"} ${noun}`

const typeName = (expected: string): string => {
  switch (expected) {
    case "int":
      return "an integer"
    case "boolean":
      return "true or false"
    case "null":
      return "null"
    case "undefined":
    case "never":
      return "absent"
    case "record":
    case "map":
      return "an object"
    default:
      return article(expected)
  }
}

const listValues = (values: readonly unknown[]): string =>
  values.length === 1 ? JSON.stringify(values[0]) : `one of ${values.map((v) => (typeof v === "bigint" ? String(v) : JSON.stringify(v))).join(", ")}`

const bound = (issue: Extract<Issue, { code: "too_small" | "too_big" }>, integer: boolean): string => {
  const small = issue.code === "too_small"
  const limit = small ? (issue as { minimum: number | bigint }).minimum : (issue as { maximum: number | bigint }).maximum
  const inclusive = issue.inclusive !== false
  const noun = integer ? "integer" : "number"
  switch (issue.origin) {
    case "array":
    case "set":
      return `must have ${small ? "at least" : "at most"} ${limit} item${Number(limit) === 1 ? "" : "s"}`
    case "string":
      return small && Number(limit) === 1 ? "must not be empty" : `must have ${small ? "at least" : "at most"} ${limit} character${Number(limit) === 1 ? "" : "s"}`
    default:
      if (small && Number(limit) === 0) return inclusive ? `must be ${article(`non-negative ${noun}`)}` : `must be ${article(`positive ${noun}`)}`
      return `must be ${small ? (inclusive ? "≥" : ">") : inclusive ? "≤" : "<"} ${limit}`
  }
}

/** What is wrong with the value an issue is about, without naming it: "must be ≥ 0, got -1". */
const predicate = (issue: Issue, root: unknown, schema: AnySchema | undefined): { text: string; custom: boolean } => {
  const at = valueAt(root, issue.path)
  const got = at.found ? `, got ${showValue(at.value)}` : ""
  const integer = isIntegerSchema(schemaAt(schema, issue.path))
  const expectedType = (expected: string): string => typeName(integer && expected === "number" ? "int" : expected)
  switch (issue.code) {
    case "invalid_type":
      if (!at.found && root !== undefined) return { text: `is missing (expected ${expectedType(issue.expected)})`, custom: false }
      return { text: `must be ${expectedType(issue.expected)}${got}`, custom: false }
    case "too_small":
    case "too_big":
      return { text: `${bound(issue, integer || issue.origin === "int" || issue.origin === "bigint")}${got}`, custom: false }
    case "invalid_value":
      return { text: `must be ${listValues(issue.values)}${got}`, custom: false }
    case "not_multiple_of":
      return { text: `must be a multiple of ${issue.divisor}${got}`, custom: false }
    case "unrecognized_keys":
      return { text: `has unknown field${issue.keys.length === 1 ? "" : "s"} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`, custom: false }
    case "invalid_format":
      return { text: `must be a valid ${issue.format}${got}`, custom: false }
    case "invalid_union": {
      // A discriminated union names its allowed discriminator values.
      const options = (issue as { options?: readonly unknown[] }).options
      if (options !== undefined && options.length > 0) return { text: `must be ${listValues(options)}${got}`, custom: false }
      return { text: `does not match any allowed form${got}`, custom: false }
    }
    case "invalid_key":
      return { text: "has an invalid key", custom: false }
    case "invalid_element":
      return { text: "has an invalid element", custom: false }
    default:
      // custom refinements: their message is already written for people ("expected an integer ≥ 2").
      return { text: `${issue.message}${got}`, custom: true }
  }
}

/**
 * One issue as a sentence about the field's path (or `rootName` for the whole value):
 * "hidden_size must be a positive integer, got -3". With `subject: false` the field is left out
 * ("must be a positive integer, got -3"), for callers whose error already names it.
 */
export const describeIssue = (issue: Issue, root?: unknown, options: { schema?: AnySchema; rootName?: string; subject?: boolean } = {}): string => {
  const { text, custom } = predicate(issue, root, options.schema)
  if (options.subject === false) return text
  const subject = issue.path.length === 0 ? (options.rootName ?? "the value") : formatIssuePath(issue.path)
  return custom ? `${subject}: ${text}` : `${subject} ${text}`
}

/** Every issue of a failed parse as one line (at most `max`, so a broken file stays readable). */
export const describeIssues = (
  error: z.ZodError | readonly Issue[],
  root?: unknown,
  options: { schema?: AnySchema; rootName?: string; max?: number } = {},
): string => {
  const issues = "issues" in error ? error.issues : error
  const max = options.max ?? 3
  const shown = issues.slice(0, max).map((issue) => describeIssue(issue, root, options))
  return shown.join("; ") + (issues.length > max ? `; and ${issues.length - max} more problem${issues.length - max === 1 ? "" : "s"}` : "")
}

/**
 * A command's flags that failed their schema, one line each, named as typed:
 * `--seqlen must be ≥ 2, got "1"`, `--out is required`, `--task is required (one of "a", "b")`.
 * `values` are the parsed flags (strings and booleans; an absent flag has no key).
 */
export const describeFlagIssues = (error: z.ZodError, values: Readonly<Record<string, unknown>>, schema: AnySchema): string[] =>
  error.issues.map((issue) => {
    const flag = `--${formatIssuePath(issue.path)}`
    const text = describeIssue(issue, values, { schema, subject: false })
    if (issue.path.length !== 1 || Object.hasOwn(values, issue.path[0]!)) return `${flag} ${text}`
    return issue.code === "invalid_value" ? `${flag} is required (${text.replace(/^must be /, "")})` : `${flag} is required`
  })
