// The resource scheduler alone: class limits and the exclusive gate.
import { expect, test } from "bun:test"
import * as Effect from "effect/Effect"
import { makeScheduler } from "./scheduler.ts"
import type { ResourceClass } from "./step-definition.ts"

/** Runs tasks through the scheduler and records the order of their starts and ends. */
const trace = (jobs: number, tasks: readonly (readonly [string, ResourceClass])[]) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const scheduler = yield* makeScheduler(jobs)
      const log: string[] = []
      yield* Effect.forEach(
        tasks,
        ([name, resource]) =>
          Effect.scoped(
            Effect.gen(function* () {
              yield* scheduler.hold(resource)
              log.push(`+${name}`)
              yield* Effect.sleep("30 millis")
              log.push(`-${name}`)
            }),
          ),
        { concurrency: "unbounded", discard: true },
      )
      return log
    }),
  )

test("an exclusive step never overlaps any other step", async () => {
  const log = await trace(4, [["a", "cpu"], ["b", "io"], ["bench", "exclusive"], ["c", "cpu"], ["d", "device"]])
  const start = log.indexOf("+bench")
  expect(log[start + 1]).toBe("-bench")
  // Nothing was in flight when it started.
  const before = log.slice(0, start)
  expect(before.filter((e) => e.startsWith("+")).length).toBe(before.filter((e) => e.startsWith("-")).length)
})

test("cpu steps are bounded by jobs while io steps get twice as many", async () => {
  const cpu = await trace(1, [["a", "cpu"], ["b", "cpu"]])
  expect(cpu).toEqual(["+a", "-a", "+b", "-b"])
  const io = await trace(1, [["a", "io"], ["b", "io"]])
  expect(io.slice(0, 2)).toEqual(["+a", "+b"])
})
