// attempt: library work inside a step gets the abort signal, which interrupting the step aborts
// (so Ctrl-C and --fail-fast stop library loops), and a throw becomes the step module's tagged
// error with the library's message, its cause and the step's hint.
import { expect, test } from "bun:test"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import { TargetError } from "../../src/targets/index.ts"
import { attempt, attemptEffect, attemptSync, release, type StepErrorFields } from "./attempt.ts"

class ProbeError extends Data.TaggedError("ProbeError")<StepErrorFields> {}

test("interrupting a step's library call aborts the signal the library was given, and its loop stops", async () => {
  let iterations = 0
  let afterAbort = 0
  let started!: () => void
  const running = new Promise<void>((resolve) => (started = resolve))
  let finished!: (why: unknown) => void
  const settled = new Promise<unknown>((resolve) => (finished = resolve))
  // A library loop that checks its signal once per iteration, as the quantizer and runtime do.
  const loop = async (signal: AbortSignal) => {
    try {
      for (;;) {
        signal.throwIfAborted()
        if (signal.aborted) afterAbort++
        iterations++
        if (iterations === 3) started()
        await Bun.sleep(1)
      }
    } catch (e) {
      finished(e)
      throw e
    }
  }
  const fiber = Effect.runFork(attempt(ProbeError, loop))
  await running
  await Effect.runPromise(Fiber.interrupt(fiber))
  const why = await settled
  expect((why as Error).name).toBe("AbortError")
  expect(afterAbort).toBe(0)
  // The interrupt lands while the loop sleeps: at most the iteration then running completes.
  const stoppedAt = iterations
  await Bun.sleep(5)
  expect(iterations).toBe(stoppedAt)
})

test("a library throw becomes the module's tagged error with the library's message, cause and the step's hint", async () => {
  const cause = new RangeError("percentile: 150 is outside (0, 100]")
  const error = await Effect.runPromise(Effect.flip(attempt(ProbeError, () => Promise.reject(cause), "fix the quantize params")))
  expect(error).toBeInstanceOf(ProbeError)
  expect(error).toMatchObject({ _tag: "ProbeError", message: "percentile: 150 is outside (0, 100]", hint: "fix the quantize params", cause })
  const sync = await Effect.runPromise(Effect.flip(attemptSync(ProbeError, () => JSON.parse("{"))))
  expect(sync._tag).toBe("ProbeError")
  expect(sync.message).toContain("JSON")
  expect(sync.hint).toBeUndefined()
})

test("a library error's own hint survives when the step gives none, and the step's hint wins when it does", async () => {
  const cause = new TargetError({ target: "cpu", reason: "bad-input", message: "/m: no target wrote this model folder", hint: "compile the model first" })
  const kept = await Effect.runPromise(Effect.flip(attemptSync(ProbeError, () => { throw cause })))
  expect(kept).toMatchObject({ _tag: "ProbeError", message: "/m: no target wrote this model folder", hint: "compile the model first", cause })
  const overridden = await Effect.runPromise(Effect.flip(attempt(ProbeError, () => Promise.reject(cause), "check the model param")))
  expect(overridden.hint).toBe("check the model param")
})

test("a target's typed failure becomes the step's error with the target's message and hint, keeping it as the cause", async () => {
  const cause = new TargetError({ target: "vacc", reason: "tool-failed", message: "vamc exited 2: see /tmp/x/vamc.log line 14", hint: "check the vamc log named above" })
  const error = await Effect.runPromise(Effect.flip(Effect.fail(cause).pipe(attemptEffect(ProbeError))))
  expect(error).toBeInstanceOf(ProbeError)
  expect(error).toMatchObject({ message: "vamc exited 2: see /tmp/x/vamc.log line 14", hint: "check the vamc log named above", cause })
})

test("a close that fails in a finalizer leaves the step's result standing and is logged as a warning", async () => {
  const logged: string[] = []
  const capture = Logger.make(({ logLevel, message }) => void logged.push(`${logLevel} ${Array.isArray(message) ? message.join(" ") : String(message)}`))
  const result = await Effect.runPromise(
    Effect.scoped(Effect.acquireRelease(Effect.succeed(42), () => release("the session /d", () => Promise.reject(new Error("ORT: release failed"))))).pipe(
      Effect.provide(Logger.layer([capture])),
    ),
  )
  expect(result).toBe(42)
  expect(logged.some((line) => line.startsWith("Warn") && line.includes("closing the session /d failed"))).toBe(true)
})
