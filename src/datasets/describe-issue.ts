// Turns zod issues into short sentences like `field "score": expected number, got string`,
// worded for someone editing a data file rather than for a schema author.

import type { z } from "zod"

/** The JSON kind of a value as a data-file author would name it. */
export const jsonKind = (value: unknown): string => {
  if (value === null) return "null"
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : "array"
  return typeof value
}

const formatPath = (path: readonly PropertyKey[]): string => {
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

const describeOne = (issue: z.core.$ZodIssue, root: unknown): string => {
  const where = issue.path.length === 0 ? "" : `field "${formatPath(issue.path)}": `
  const at = valueAt(root, issue.path)
  switch (issue.code) {
    case "invalid_type": {
      const expected = issue.expected === "object" && issue.path.length === 0 ? "a JSON object" : issue.expected
      if (!at.found) return `${where}missing, expected ${expected}`
      return `${where}expected ${expected}, got ${jsonKind(at.value)}`
    }
    case "too_small":
      if (issue.origin === "array") return `${where}expected at least ${issue.minimum} item(s), got ${jsonKind(at.value)}`
      if (issue.origin === "string") return `${where}expected a non-empty string, got an empty string`
      return `${where}${issue.message}`
    default:
      return `${where}${issue.message}`
  }
}

/** All issues of a failed parse as one line (at most three, so a broken file stays readable). */
export const describeIssues = (issues: readonly z.core.$ZodIssue[], root: unknown): string => {
  const shown = issues.slice(0, 3).map((issue) => describeOne(issue, root))
  const more = issues.length > 3 ? `; and ${issues.length - 3} more problem(s)` : ""
  return shown.join("; ") + more
}
