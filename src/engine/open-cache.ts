// Opening the cache for a run: its directories exist and are writable, the run has a temp folder
// of its own (layout.tmp points into it: see cache/run-tmp.ts), and the stat memo is open for the
// run's scope.
import { existsSync, mkdirSync } from "node:fs"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import { type CacheLayout, cacheLayout } from "../cache/layout.ts"
import { acquireRunTmp } from "../cache/run-tmp.ts"
import { openStatMemo, type StatMemo } from "../cache/stat-memo.ts"
import { CacheError } from "./errors.ts"

export const openCache = (cacheRoot: string) =>
  Effect.gen(function* () {
    const shared: CacheLayout = cacheLayout(cacheRoot)
    const created = yield* Effect.try({
      try: () => {
        for (const dir of [shared.root, shared.tmp, shared.locks]) mkdirSync(dir, { recursive: true })
      },
      catch: (e) => e as Error,
    }).pipe(Effect.exit)
    const runTmp = created._tag === "Success" ? yield* acquireRunTmp(shared).pipe(Effect.exit) : created
    // A cache that exists but cannot be written (mounted read-only, another user's) still serves
    // what it holds; a step that would have to run says so (see executeStep).
    const readOnly = runTmp._tag === "Failure" && existsSync(shared.cas)
    if (runTmp._tag === "Failure" && !readOnly) {
      const error = Cause.squash(created._tag === "Failure" ? created.cause : runTmp.cause) as Error
      return yield* new CacheError({ message: `cache: cannot create ${shared.root}: ${error.message ?? String(error)}`, path: shared.root, cause: error, hint: "choose a writable --cache-dir" })
    }
    const layout: CacheLayout = runTmp._tag === "Success" ? { ...shared, tmp: runTmp.value.dir } : shared
    const memo: StatMemo = yield* Effect.acquireRelease(
      Effect.try({ try: () => openStatMemo(layout.memo), catch: (e) => new CacheError({ message: `cache: cannot open stat memo ${layout.memo}: ${(e as Error).message}`, path: layout.memo }) }),
      (m) => Effect.sync(() => m.close()),
    )
    const notes = [
      ...(readOnly ? [`note: the cache ${shared.root} is read-only: cached steps are served, a step that has to run will fail`] : []),
      ...(memo.warning !== undefined && !readOnly ? [memo.warning] : []),
    ]
    return { layout, memo, readOnly, notes }
  })
