// Opening the cache for a run: its directories exist and are writable, and the stat memo is open
// for the run's scope.
import { mkdirSync } from "node:fs"
import * as Effect from "effect/Effect"
import { type CacheLayout, cacheLayout } from "../cache/layout.ts"
import { openStatMemo, type StatMemo } from "../cache/stat-memo.ts"
import { CacheError } from "./errors.ts"

export const openCache = (cacheRoot: string) =>
  Effect.gen(function* () {
    const layout: CacheLayout = cacheLayout(cacheRoot)
    yield* Effect.try({
      try: () => {
        for (const dir of [layout.root, layout.tmp, layout.locks]) mkdirSync(dir, { recursive: true })
      },
      catch: (e) => new CacheError({ message: `cache: cannot create ${layout.root}: ${(e as Error).message}`, path: layout.root, hint: "choose a writable --cache-dir" }),
    })
    const memo: StatMemo = yield* Effect.acquireRelease(
      Effect.try({ try: () => openStatMemo(layout.memo), catch: (e) => new CacheError({ message: `cache: cannot open stat memo ${layout.memo}: ${(e as Error).message}`, path: layout.memo }) }),
      (m) => Effect.sync(() => m.close()),
    )
    return { layout, memo }
  })
