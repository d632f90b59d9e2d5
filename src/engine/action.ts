// Action resolution: a step node's key preimage (step, version, resolved params, input digests,
// fingerprint, code digest), its key, whether the cache can serve it, and — for a miss — why it must run,
// compared with what the lock file last recorded for the node.
import { join } from "node:path"
import { type ActionEntry, lookupAction, readActionEntry } from "../cache/action-cache.ts"
import type { CacheLayout } from "../cache/layout.ts"
import type { TreeDigest } from "../cache/tree.ts"
import { verifyEntry } from "../cache/verify.ts"
import { type ActionKey, type ActionKeyInputs, actionKey, CACHE_SCHEMA_VERSION, explainKeyChange, parseKeyInputs } from "./action-key.ts"
import type { CodeDigest } from "./code/index.ts"
import { type LockFile, lockedKey } from "./lock-file.ts"
import { type Identity, stepIdentity } from "./reproducibility.ts"
import type { AnyStep, ResourceClass } from "./step-definition.ts"

/** A node whose output is known: its key and the tree it produced, readable at `path`. */
export interface Resolved {
  readonly key: ActionKey
  readonly keyInputs: ActionKeyInputs
  readonly identity: Identity
  readonly output: TreeDigest
  readonly path: string
}

export interface Action {
  readonly key: ActionKey
  readonly keyInputs: ActionKeyInputs
  readonly identity: Identity
  readonly fingerprint: Readonly<Record<string, string>>
  /** The resource class it holds while it runs. */
  readonly resources: ResourceClass
}

/** Where each input's output is readable, by input name (what fingerprint, resources and runsOn see). */
export const inputPaths = (inputs: Readonly<Record<string, Resolved>>): Record<string, string> => Object.fromEntries(Object.entries(inputs).map(([name, r]) => [name, r.path]))

/**
 * The action a step node performs, given its resolved params and its inputs' outputs. Throws what
 * the step's fingerprint or resources throw (a tool it keys on is missing here).
 */
export const stepAction = (step: AnyStep, params: unknown, inputs: Readonly<Record<string, Resolved>>, code: CodeDigest): Action => {
  const paths = inputPaths(inputs)
  const fingerprint = step.fingerprint?.(params, paths) ?? {}
  const resources = typeof step.resources === "function" ? step.resources(params, paths) : step.resources
  const keyInputs: ActionKeyInputs = {
    cacheSchema: CACHE_SCHEMA_VERSION,
    step: step.name,
    version: step.version,
    params,
    inputs: Object.fromEntries(Object.entries(inputs).map(([name, r]) => [name, r.output])),
    fingerprint,
    code,
  }
  return { key: actionKey(keyInputs), keyInputs, identity: stepIdentity(step.reproducible, keyInputs, inputs), fingerprint, resources }
}

/** The entry the cache can serve for `key`: complete, and with `--verify` re-hashed intact. */
export const findHit = (layout: CacheLayout, key: ActionKey, options: { readonly forced: boolean; readonly verify: boolean }): ActionEntry | undefined => {
  if (options.forced) return undefined
  const hit = lookupAction(layout, key)
  if (hit !== undefined && options.verify && !verifyEntry(layout, hit)) return undefined
  return hit
}

/** Where a served or committed entry's output is readable. */
export const resolvedFrom = (layout: CacheLayout, action: Action, output: string, path = join(layout.out, output)): Resolved => ({
  key: action.key,
  keyInputs: action.keyInputs,
  identity: action.identity,
  output: output as TreeDigest,
  path,
})

/** What changed since the entry the lock file names, read from that entry's stored preimage. */
export const keyChangeSince = (layout: CacheLayout, previousKey: string, now: ActionKeyInputs): string[] | undefined => {
  const before = parseKeyInputs(readActionEntry(layout, previousKey)?.keyInputs)
  return before === undefined ? undefined : explainKeyChange(before, now)
}

/** Why a node that is not served from the cache must run. */
export const whyRun = (layout: CacheLayout, lock: LockFile | undefined, id: string, action: Action, forced: boolean): string => {
  if (forced) return "forced"
  const previous = lock?.nodes[id]
  if (previous === undefined) return "not in the lock file, never run here"
  const previousKey = lockedKey(previous, action.identity)
  if (previousKey === undefined) return action.identity.reproducible === "measurement" ? "a measurement, not cached here" : "not run on this host class before"
  if (previousKey === action.key) return "its cache entry is missing or incomplete"
  const reasons = keyChangeSince(layout, previousKey, action.keyInputs)
  if (reasons === undefined) return "key changed (the previous entry is no longer in this cache)"
  return reasons.join("; ") || "key changed"
}
