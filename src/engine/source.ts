// Resolving a source node. `local(kind, path)`: its output is the content digest of the file or
// folder in place (remembered by stat in the memo), and its key is derived from that digest alone.
// A resolved source (`resolvedSource`) finds its files through its own resolver (a Hub download,
// say); its digest covers exactly the files it names, and its pin (what it resolved to) is part of
// its key, so `--frozen` refuses a moving ref that resolves differently.
import { existsSync } from "node:fs"
import * as Effect from "effect/Effect"
import type { StatMemo } from "../cache/stat-memo.ts"
import { digestFiles, digestInPlace, type TreeDigest } from "../cache/tree.ts"
import type { Resolved } from "./action.ts"
import { type ActionKeyInputs, actionKey, CACHE_SCHEMA_VERSION, NO_CODE } from "./action-key.ts"
import { StepFailedError } from "./errors.ts"
import type { GraphNode } from "./graph.ts"
import type { SourceContext } from "./node.ts"
import { sourceIdentity } from "./reproducibility.ts"
import { failureText } from "./step-failure.ts"

const sourceKey = (digest: TreeDigest, pin: Readonly<Record<string, string>>, path: string): Resolved => {
  const keyInputs: ActionKeyInputs = { cacheSchema: CACHE_SCHEMA_VERSION, step: "source", version: 1, params: {}, inputs: { content: digest }, fingerprint: { ...pin }, code: NO_CODE }
  const key = actionKey(keyInputs)
  return { key, keyInputs, identity: sourceIdentity(key), output: digest, path }
}

/** The source's output, or `pending` when a dry run cannot know it without fetching. */
export type SourceOutcome = { readonly resolved: Resolved; readonly ms: number } | { readonly pending: string }

export const resolveSource = (gn: GraphNode, memo: StatMemo, ctx: SourceContext): Effect.Effect<SourceOutcome, StepFailedError> =>
  Effect.gen(function* () {
    const started = Date.now()
    const spec = gn.node.source!
    if (spec.resolve !== undefined) {
      const found = yield* spec.resolve(ctx).pipe(
        Effect.mapError((e) => {
          const { message, hint } = failureText(e)
          return new StepFailedError({ nodeId: gn.id, message: `source "${gn.id}": ${message}`, cause: e, ...(hint !== undefined ? { hint } : {}) })
        }),
      )
      if ("pending" in found) return { pending: found.pending }
      const digest = yield* Effect.try({
        try: () => digestFiles([...found.files].map(([rel, abs]) => ({ rel, abs })), memo),
        catch: (e) => new StepFailedError({ nodeId: gn.id, message: `source "${gn.id}": cannot read ${found.path}: ${(e as Error).message}` }),
      })
      return { resolved: sourceKey(digest, found.pin, found.path), ms: Date.now() - started }
    }
    const path = spec.path
    if (!existsSync(path)) {
      return yield* new StepFailedError({ nodeId: gn.id, message: `source "${gn.id}": ${path} does not exist`, hint: "check the path given to local(...)" })
    }
    const digest = yield* Effect.try({
      try: () => digestInPlace(path, memo),
      catch: (e) => new StepFailedError({ nodeId: gn.id, message: `source "${gn.id}": cannot read ${path}: ${(e as Error).message}` }),
    })
    return { resolved: sourceKey(digest, {}, path), ms: Date.now() - started }
  })
