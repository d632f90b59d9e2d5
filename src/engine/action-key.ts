// The action key: what a step's output is a function of. Two runs with equal keys must produce
// interchangeable outputs, so every input to the result is listed here, and nothing else:
//   cacheSchema  — layout/semantics of the cache itself; bumping it orphans every entry
//   step, version — the code that runs (authors bump `version` when logic changes)
//   params       — resolved by the step's zod schema, so defaults and key order do not matter
//   inputs       — tree digests of every input artifact, by input name
//   fingerprint  — environment the output depends on (tool versions, host for benchmarks)
// Keys are full sha256 hex (64 digits): a peer once truncated keys to 8 and served the wrong model.
import { z } from "zod"
import { canonicalJson, sha256Hex } from "../cache/canonical-json.ts"

export { canonicalJson, sha256Hex }

export const CACHE_SCHEMA_VERSION = 1

export type ActionKey = string & { readonly _brand: "ActionKey" }

export interface ActionKeyInputs {
  readonly cacheSchema: number
  readonly step: string
  readonly version: number
  readonly params: unknown
  readonly inputs: Readonly<Record<string, string>>
  readonly fingerprint: Readonly<Record<string, string>>
}

const StoredKeyInputs = z.object({
  cacheSchema: z.number(),
  step: z.string(),
  version: z.number(),
  params: z.unknown(),
  inputs: z.record(z.string(), z.string()),
  fingerprint: z.record(z.string(), z.string()),
})

/** A preimage read back from a cache entry, or undefined when it has another shape (older schema). */
export const parseKeyInputs = (stored: unknown): ActionKeyInputs | undefined => {
  const parsed = StoredKeyInputs.safeParse(stored)
  return parsed.success ? parsed.data : undefined
}

export const actionKey = (inputs: ActionKeyInputs): ActionKey => sha256Hex(canonicalJson(inputs)) as ActionKey

/** Human-readable reasons two key preimages differ, for `--dry-run`. */
export const explainKeyChange = (before: ActionKeyInputs, after: ActionKeyInputs): string[] => {
  const reasons: string[] = []
  if (before.cacheSchema !== after.cacheSchema) reasons.push(`cache schema ${before.cacheSchema} → ${after.cacheSchema}`)
  if (before.step !== after.step) reasons.push(`step ${before.step} → ${after.step}`)
  if (before.version !== after.version) reasons.push(`step version ${before.version} → ${after.version}`)
  const diff = (label: string, a: unknown, b: unknown, path: string): void => {
    if (canonicalJson(a) === canonicalJson(b)) return
    const objects = a !== null && b !== null && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)
    if (!objects) {
      reasons.push(`${label} ${path}: ${canonicalJson(a)} → ${canonicalJson(b)}`)
      return
    }
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)])
    for (const k of [...keys].sort()) {
      diff(label, (a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path === "" ? k : `${path}.${k}`)
    }
  }
  diff("param", before.params, after.params, "")
  for (const name of new Set([...Object.keys(before.inputs), ...Object.keys(after.inputs)])) {
    if (before.inputs[name] !== after.inputs[name]) reasons.push(`input ${name} changed`)
  }
  diff("fingerprint", before.fingerprint, after.fingerprint, "")
  return reasons
}
