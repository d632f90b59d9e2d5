// `--frozen`: holds each node to its lock-file entry by the rules written down in lock-file.ts.
// `beforeRun` is checked as soon as a node's key is known, so a drifted node never runs;
// `afterRun` compares the output. Each returns a drift (the node fails, naming what moved) or a
// note for the run's summary (e.g. a host class the lock does not know yet).
import { canonicalJson } from "../cache/canonical-json.ts"
import type { CacheLayout } from "../cache/layout.ts"
import { keyChangeSince, type Resolved } from "./action.ts"
import type { ActionKeyInputs } from "./action-key.ts"
import type { LockFile } from "./lock-file.ts"
import type { Identity } from "./reproducibility.ts"

export type FrozenVerdict = { readonly drift: string; readonly hint: string } | { readonly note?: string }

const REGENERATE = "if the change is intended, run without --frozen and commit the updated lock file"

export const frozenBeforeRun = (
  layout: CacheLayout,
  lock: LockFile | undefined,
  id: string,
  node: { readonly key: string; readonly keyInputs: ActionKeyInputs; readonly identity: Identity },
): FrozenVerdict => {
  const entry = lock?.nodes[id]
  if (entry === undefined) return { drift: `--frozen: node "${id}" is not in the lock file`, hint: REGENERATE }
  if (entry.basis === undefined) return { drift: `--frozen: the lock entry of "${id}" predates basis and code digests`, hint: "regenerate the lock file: run without --frozen and commit it" }
  const { identity } = node
  if (entry.reproducible !== identity.reproducible) {
    return { drift: `--frozen: node "${id}" was ${entry.reproducible} in the lock file and is ${identity.reproducible} now`, hint: REGENERATE }
  }
  // Why a basis or fingerprint moved, when this cache still has the entry the lock names.
  const explained = (): string => {
    const previousKey = identity.reproducible === "host" ? Object.values(entry.hosts ?? {})[0]?.key : entry.key
    const reasons = previousKey !== undefined ? keyChangeSince(layout, previousKey, node.keyInputs)?.filter((r) => !r.startsWith("code changed") && !r.startsWith("package ")) : undefined
    if (reasons !== undefined && reasons.length > 0) return reasons.join("; ")
    // A source's pin (the commit a branch resolved to) is all a fresh cache can name.
    return (identity.reproducible === "portable" ? fingerprintChange(entry.fingerprint ?? {}, node.keyInputs.fingerprint) : "") || "its step, version, params or inputs differ"
  }
  if (entry.basis !== identity.basis) return { drift: `--frozen: node "${id}" drifted from the lock file: ${explained()}`, hint: REGENERATE }
  if (identity.reproducible === "portable" && canonicalJson(entry.fingerprint ?? {}) !== canonicalJson(node.keyInputs.fingerprint)) {
    return { drift: `--frozen: node "${id}" drifted from the lock file: fingerprint ${canonicalJson(entry.fingerprint ?? {})} → ${canonicalJson(node.keyInputs.fingerprint)}`, hint: REGENERATE }
  }
  if (entry.code !== identity.code) return { note: "code changed since the lock file: it runs, and its output must equal the locked output" }
  return {}
}

export const frozenAfterRun = (lock: LockFile | undefined, id: string, resolved: Resolved): FrozenVerdict => {
  const entry = lock?.nodes[id]
  if (entry === undefined) return { drift: `--frozen: node "${id}" is not in the lock file`, hint: REGENERATE }
  const { identity } = resolved
  if (identity.reproducible === "measurement") return { note: "a measurement: the lock records that it ran, not its output" }
  const locked = identity.reproducible === "host" ? entry.hosts?.[identity.hostClass ?? ""]?.outputs.out : entry.outputs?.out
  if (locked === undefined) {
    return { note: `host class ${identity.hostClass} is not in the lock file: what it computes was checked, its output (bound to this host) was not` }
  }
  if (locked !== resolved.output) {
    const codeChanged = entry.code !== identity.code
    return {
      drift: `--frozen: node "${id}" produced output ${resolved.output} but the lock file says ${locked}${codeChanged ? " (its code changed since the lock file was written)" : ""}`,
      hint: codeChanged ? `the code change altered the output; ${REGENERATE}` : "the step is not reproducible, or the lock file is stale",
    }
  }
  return {}
}

/** What changed in the recorded fingerprint (a source's pin: the commit a branch resolved to). */
const fingerprintChange = (before: Readonly<Record<string, string>>, now: Readonly<Record<string, string>>): string =>
  [...new Set([...Object.keys(before), ...Object.keys(now)])]
    .sort()
    .filter((k) => before[k] !== now[k])
    .map((k) => `${k} ${before[k] ?? "(none)"} → ${now[k] ?? "(none)"}`)
    .join("; ")
