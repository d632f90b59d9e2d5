// Resolving a source node (`local(kind, path)`): its output is the content digest of the file or
// folder in place (remembered by stat in the memo), and its key is derived from that digest alone.
import { existsSync } from "node:fs"
import * as Effect from "effect/Effect"
import type { StatMemo } from "../cache/stat-memo.ts"
import { digestInPlace } from "../cache/tree.ts"
import type { Resolved } from "./action.ts"
import { type ActionKeyInputs, actionKey, CACHE_SCHEMA_VERSION } from "./action-key.ts"
import { StepFailedError } from "./errors.ts"
import type { GraphNode } from "./graph.ts"

export const resolveSource = (gn: GraphNode, memo: StatMemo): Effect.Effect<{ readonly resolved: Resolved; readonly ms: number }, StepFailedError> =>
  Effect.gen(function* () {
    const started = Date.now()
    const path = gn.node.source!.path
    if (!existsSync(path)) {
      return yield* new StepFailedError({ nodeId: gn.id, message: `source "${gn.id}": ${path} does not exist`, hint: "check the path given to local(...)" })
    }
    const digest = yield* Effect.try({
      try: () => digestInPlace(path, memo),
      catch: (e) => new StepFailedError({ nodeId: gn.id, message: `source "${gn.id}": cannot read ${path}: ${(e as Error).message}` }),
    })
    const keyInputs: ActionKeyInputs = { cacheSchema: CACHE_SCHEMA_VERSION, step: "source", version: 1, params: {}, inputs: { content: digest }, fingerprint: {} }
    return { resolved: { key: actionKey(keyInputs), keyInputs, output: digest, path }, ms: Date.now() - started }
  })
