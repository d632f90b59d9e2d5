// Opening the cache for a run: its directories exist and are writable, the run has a temp folder
// of its own (layout.tmp points into it: see cache/run-tmp.ts), and the stat memo is open for the
// run's scope.
import { mkdirSync } from "node:fs"
import * as Effect from "effect/Effect"
import { type CacheLayout, cacheLayout } from "../cache/layout.ts"
import { acquireRunTmp } from "../cache/run-tmp.ts"
import { openStatMemo, type StatMemo } from "../cache/stat-memo.ts"
import { CacheError } from "./errors.ts"

export const openCache = (cacheRoot: string) =>
  Effect.gen(function* () {
    const shared: CacheLayout = cacheLayout(cacheRoot)
    yield* Effect.try({
      try: () => {
        for (const dir of [shared.root, shared.tmp, shared.locks]) mkdirSync(dir, { recursive: true })
      },
      catch: (e) => new CacheError({ message: `cache: cannot create ${shared.root}: ${(e as Error).message}`, path: shared.root, hint: "choose a writable --cache-dir" }),
    })
    const runTmp = yield* acquireRunTmp(shared).pipe(
      Effect.mapError((e) => new CacheError({ message: `cache: cannot create a temp folder in ${shared.tmp}: ${e.message}`, path: shared.tmp, cause: e, hint: "choose a writable --cache-dir" })),
    )
    const layout: CacheLayout = { ...shared, tmp: runTmp.dir }
    const memo: StatMemo = yield* Effect.acquireRelease(
      Effect.try({ try: () => openStatMemo(layout.memo), catch: (e) => new CacheError({ message: `cache: cannot open stat memo ${layout.memo}: ${(e as Error).message}`, path: layout.memo }) }),
      (m) => Effect.sync(() => m.close()),
    )
    return { layout, memo }
  })
