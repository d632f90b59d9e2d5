// The resource scheduler: how many steps of each resource class run at once. Every step also
// holds one permit of a shared gate; an `exclusive` step takes the whole gate, so it starts only
// when nothing else runs and nothing starts until it ends (a benchmark measures an idle machine).
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import type { ResourceClass } from "./step-definition.ts"

export interface Scheduler {
  /** Waits for a permit of `resource` and holds it until the enclosing scope closes. */
  readonly hold: (resource: ResourceClass) => Effect.Effect<void, never, Scope.Scope>
}

/** Enough gate permits that shared holders never contend for the gate among themselves. */
const GATE = 1 << 20

/** `jobs` CPU-heavy steps, twice as many I/O steps, one device step per die; exclusive steps alone. */
export const makeScheduler = (jobs: number, devices = 1): Effect.Effect<Scheduler> =>
  Effect.gen(function* () {
    const gate = yield* Semaphore.make(GATE)
    const classes: Record<Exclude<ResourceClass, "exclusive">, Semaphore.Semaphore> = {
      cpu: yield* Semaphore.make(Math.max(1, jobs)),
      io: yield* Semaphore.make(Math.max(2, jobs * 2)),
      device: yield* Semaphore.make(Math.max(1, devices)),
    }
    return {
      hold: (resource) =>
        resource === "exclusive"
          ? Semaphore.takeScoped(gate, GATE).pipe(Effect.asVoid)
          : Effect.gen(function* () {
              yield* Semaphore.takeScoped(gate, 1)
              yield* Semaphore.takeScoped(classes[resource], 1)
            }),
    }
  })
