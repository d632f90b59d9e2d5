// The action key: what a step's output is a function of. Two runs with equal keys must produce
// interchangeable outputs, so every input to the result is listed here, and nothing else:
//   cacheSchema  — layout/semantics of the cache and of the engine's contract with steps (what
//                  ctx holds, how outputs are committed); bumping it orphans every entry
//   step         — the step's name
//   version      — an explicit override authors bump for what code cannot show (e.g. a change in
//                  a data file the step reads); no longer the only guard
//   params       — resolved by the step's zod schema, so defaults and key order do not matter
//   inputs       — tree digests of every input artifact, by input name
//   fingerprint  — environment the output depends on (tool versions, CPU features, host for benchmarks)
//   code         — the step's code: sha256 of its defining module and of every project module that
//                  module imports, transitively (resolved by Bun's bundler, type-only imports
//                  excluded; traversal stops at kiln's engine, cache and CLI, which never import
//                  model code and are covered by cacheSchema), by project-relative path, plus the
//                  bun.lock version of every npm package on that path and of their dependencies.
//                  Per-file digests stay in the preimage so a re-run can name the files that changed.
//                  A step defined in a pipeline file covers that file and all it imports.
// No absolute paths, hostnames or times: equal keys on two machines mean the same computation.
// Keys are full sha256 hex (64 digits): a peer once truncated keys to 8 and served the wrong model.
import { z } from "zod"
import { canonicalJson, sha256Hex } from "../cache/canonical-json.ts"
import type { CodeDigest } from "./code/index.ts"

export { canonicalJson, sha256Hex }

export const CACHE_SCHEMA_VERSION = 2

export type ActionKey = string & { readonly _brand: "ActionKey" }

export interface ActionKeyInputs {
  readonly cacheSchema: number
  readonly step: string
  readonly version: number
  readonly params: unknown
  readonly inputs: Readonly<Record<string, string>>
  readonly fingerprint: Readonly<Record<string, string>>
  readonly code: CodeDigest
}

/** A step without code of its own (sources) or whose defining module is unknown (eval). */
export const NO_CODE: CodeDigest = { files: {}, packages: {} }

const StoredKeyInputs = z.object({
  cacheSchema: z.number(),
  step: z.string(),
  version: z.number(),
  params: z.unknown(),
  inputs: z.record(z.string(), z.string()),
  fingerprint: z.record(z.string(), z.string()),
  code: z.object({ files: z.record(z.string(), z.string()), packages: z.record(z.string(), z.string()) }),
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
  reasons.push(...explainCodeChange(before.code, after.code))
  return reasons
}

const changedNames = (before: Readonly<Record<string, string>>, after: Readonly<Record<string, string>>): string[] =>
  [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((name) => before[name] !== after[name]).sort()

/** "code changed: src/quant/gptq.ts", "package onnxruntime-node: onnxruntime-node@1.30.0 → onnxruntime-node@1.31.0". */
export const explainCodeChange = (before: CodeDigest, after: CodeDigest): string[] => {
  const reasons: string[] = []
  const files = changedNames(before.files, after.files).map((f) => (before.files[f] === undefined ? `${f} (new import)` : after.files[f] === undefined ? `${f} (no longer imported)` : f))
  if (files.length > 0) reasons.push(`code changed: ${files.length > 8 ? [...files.slice(0, 8), `and ${files.length - 8} more`].join(", ") : files.join(", ")}`)
  for (const name of changedNames(before.packages, after.packages)) reasons.push(`package ${name}: ${before.packages[name] ?? "absent"} → ${after.packages[name] ?? "absent"}`)
  return reasons
}
