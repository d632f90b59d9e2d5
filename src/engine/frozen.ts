// `--frozen`: a resolved node must match what the lock file recorded for it — the same key and
// the same output digest — or the run fails naming the node and what drifted.
import * as Effect from "effect/Effect"
import type { CacheLayout } from "../cache/layout.ts"
import { keyChangeSince, type Resolved } from "./action.ts"
import { LockDriftError } from "./errors.ts"
import type { LockFile } from "./lock-file.ts"

export const checkFrozen = (layout: CacheLayout, lock: LockFile | undefined, id: string, resolved: Resolved): Effect.Effect<void, LockDriftError> =>
  Effect.gen(function* () {
    const entry = lock?.nodes[id]
    if (entry === undefined) {
      return yield* new LockDriftError({ nodeId: id, message: `--frozen: node "${id}" is not in the lock file`, hint: "run without --frozen and commit the updated lock file" })
    }
    if (entry.key !== resolved.key) {
      const why = keyChangeSince(layout, entry.key, resolved.keyInputs)?.join("; ") || fingerprintChange(entry.fingerprint, resolved.keyInputs.fingerprint) || "its key differs"
      return yield* new LockDriftError({ nodeId: id, message: `--frozen: node "${id}" drifted from the lock file: ${why}`, hint: "run without --frozen and commit the updated lock file" })
    }
    if (entry.outputs.out !== resolved.output) {
      return yield* new LockDriftError({ nodeId: id, message: `--frozen: node "${id}" produced output ${resolved.output} but the lock file says ${entry.outputs.out}`, hint: "the step is not reproducible, or the lock file is stale" })
    }
  })

/** What changed in the recorded fingerprint (a source's pin: the commit a branch resolved to). */
const fingerprintChange = (before: Readonly<Record<string, string>>, now: Readonly<Record<string, string>>): string =>
  [...new Set([...Object.keys(before), ...Object.keys(now)])]
    .sort()
    .filter((k) => before[k] !== now[k])
    .map((k) => `${k} ${before[k] ?? "(none)"} → ${now[k] ?? "(none)"}`)
    .join("; ")
