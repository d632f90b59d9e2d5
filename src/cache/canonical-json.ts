// Canonical JSON and sha256: the one encoding every content digest in kiln is taken over
// (tree manifests here, action keys in the engine), so equal values always hash equal.
import { createHash } from "node:crypto"

/** JSON with object keys sorted at every level, no whitespace; undefined members dropped. */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new Error(`cannot encode ${value} in canonical JSON`)
    if (typeof value === "bigint") return value.toString()
    return JSON.stringify(value) ?? "null"
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`
}

export const sha256Hex = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex")
