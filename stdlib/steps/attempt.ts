// Runs library code inside a step. A promise-returning call gets the AbortSignal Effect.tryPromise
// hands out, aborted when the step is interrupted (Ctrl-C, --fail-fast), so the library's long
// loops stop instead of running on. A throw becomes the step's own tagged error, keeping the
// library's message (it names the file, field or tensor) and its cause, with the step's hint — or,
// when the step gives none, the hint the library's own error carries (a TargetError, a HubError).
import * as Effect from "effect/Effect"

/** What every stdlib step error carries; the runtime prints `message` and `hint`. */
export interface StepErrorFields {
  readonly message: string
  readonly hint?: string
  readonly cause?: unknown
}

/** A step module's tagged error class, e.g. QuantizeError. */
export type StepErrorClass<E> = new (fields: StepErrorFields) => E

const ownHint = (cause: unknown): string | undefined => {
  const hint = typeof cause === "object" && cause !== null ? (cause as { hint?: unknown }).hint : undefined
  return typeof hint === "string" ? hint : undefined
}

const fields = (cause: unknown, hint: string | undefined): StepErrorFields => {
  const chosen = hint ?? ownHint(cause)
  return {
    message: cause instanceof Error ? cause.message : String(cause),
    cause,
    ...(chosen !== undefined ? { hint: chosen } : {}),
  }
}

/** Library work that returns a promise; `work` should pass the signal into its loops. */
export const attempt = <A, E>(failure: StepErrorClass<E>, work: (signal: AbortSignal) => Promise<A>, hint?: string): Effect.Effect<A, E> =>
  Effect.tryPromise({ try: work, catch: (cause) => new failure(fields(cause, hint)) })

/** Synchronous library work (reading a manifest, building a config). */
export const attemptSync = <A, E>(failure: StepErrorClass<E>, work: () => A, hint?: string): Effect.Effect<A, E> =>
  Effect.try({ try: work, catch: (cause) => new failure(fields(cause, hint)) })

/**
 * Library work that is already an effect (a target's compile, deploy, bench or session): its typed
 * failure becomes the step's error with the same message and hint; interrupting the step interrupts
 * it (a target's own library calls get their signal from its Effect.tryPromise).
 */
export const attemptEffect =
  <E>(failure: StepErrorClass<E>, hint?: string) =>
  <A, E0, R>(work: Effect.Effect<A, E0, R>): Effect.Effect<A, E, R> =>
    Effect.mapError(work, (cause) => new failure(fields(cause, hint)))

/**
 * Releases a library resource in a finalizer. A close that fails cannot undo the step's result and
 * leaves nothing for the user to fix, so it is logged as a warning rather than thrown as a defect.
 */
export const release = (what: string, close: () => Promise<void>): Effect.Effect<void> =>
  Effect.tryPromise(close).pipe(Effect.ignore({ log: "Warn", message: `closing ${what} failed` }))
