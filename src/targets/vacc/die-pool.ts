// Which die a session or a vamp run uses: one holder per die at a time, within this process. The
// engine's "device" resource class bounds how many device steps run at once (one per die given by
// --devices / VACC_VISIBLE_DEVICES); this pool says which die each of them gets.
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"

const pools = new Map<string, Queue.Queue<number>>()

const poolFor = (devices: readonly number[]) =>
  Effect.gen(function* () {
    const key = devices.join(",")
    let pool = pools.get(key)
    if (pool === undefined) {
      pool = yield* Queue.unbounded<number>()
      for (const d of devices) Queue.offerUnsafe(pool, d)
      pools.set(key, pool)
    }
    return pool
  })

/** A free die among `devices`, waiting for one when all are held; released with the scope. */
export const acquireDie = (devices: readonly number[]): Effect.Effect<number, never, Scope.Scope> =>
  Effect.gen(function* () {
    const pool = yield* poolFor(devices)
    return yield* Effect.acquireRelease(Queue.take(pool), (die) => Queue.offer(pool, die))
  }).pipe(Effect.orDie)
