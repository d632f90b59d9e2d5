// How a step's failure reads: tagged errors with hints, thrown errors, missing services.
import { expect, test } from "bun:test"
import * as Data from "effect/Data"
import { failureText } from "./step-failure.ts"

class QuantizeError extends Data.TaggedError("QuantizeError")<{ readonly message: string; readonly hint?: string }> {}

test("a step's tagged error renders its message and hint", () => {
  expect(failureText(new QuantizeError({ message: "layer 3: no calibration samples", hint: "raise samples" }))).toEqual({ message: "layer 3: no calibration samples", hint: "raise samples" })
})

test("a missing service names the service instead of Effect's wording", () => {
  const text = failureText(new Error("Service not found: kiln/Target"))
  expect(text.message).toContain("kiln/Target")
  expect(text.hint).toBeDefined()
})

test("a thrown non-error value still gives a message", () => {
  expect(failureText("plain")).toEqual({ message: "plain" })
})
