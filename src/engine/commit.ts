// Committing a step's output: every file of its out dir into the blob store, then the tree
// manifest, then the log, and the action entry last — so an entry never names missing data.
import * as Effect from "effect/Effect"
import { type ActionEntry, writeActionEntry } from "../cache/action-cache.ts"
import { putBlobFromFile } from "../cache/blobs.ts"
import type { CacheLayout } from "../cache/layout.ts"
import { ingestTree } from "../cache/tree.ts"
import type { Action } from "./action.ts"

export const commitOutput = (layout: CacheLayout, action: Action, work: { readonly outDir: string; readonly logPath: string; readonly ms: number }) =>
  Effect.gen(function* () {
    const tree = yield* ingestTree(layout, work.outDir)
    const log = yield* putBlobFromFile(layout, work.logPath)
    const entry: ActionEntry = { kilnAction: 1, key: action.key, keyInputs: { ...action.keyInputs }, output: tree.digest, log, ms: work.ms }
    yield* writeActionEntry(layout, entry)
    return entry
  })
