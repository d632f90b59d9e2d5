// Runs library code (a promise) inside a step, turning any throw into a StepError that keeps the
// library's message (they name the file, field or tensor) and adds the step's hint.
import * as Effect from "effect/Effect"
import { StepError } from "../../src/engine/index.ts"

export const attempt = <A>(work: () => Promise<A>, hint?: string): Effect.Effect<A, StepError> =>
  Effect.tryPromise({
    try: work,
    catch: (cause) => new StepError({ message: cause instanceof Error ? cause.message : String(cause), cause, ...(hint !== undefined ? { hint } : {}) }),
  })
