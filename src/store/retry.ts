// Bounded retries with exponential backoff and a per-attempt timeout, shared by the remote stores.
// A remote hiccup (a dropped connection, a 503, a stall) should not cost a rebuild, but a dead
// remote must not hold a run up either: a few attempts, each given `timeoutMs`, then give up with
// the last reason. Errors the attempt marks as final (`Final`) are not retried.
export interface RetryPolicy {
  /** Per attempt, until it settles (for an HTTP request: until the response headers). */
  readonly timeoutMs: number
  /** Attempts, the first included. */
  readonly attempts: number
  /** First retry delay; doubled per retry. */
  readonly backoffMs: number
}

export const defaultRetryPolicy: RetryPolicy = { timeoutMs: 30_000, attempts: 3, backoffMs: 200 }

/** Thrown by an attempt for an answer that retrying cannot change (404, access denied …). */
export class Final extends Error {}

/**
 * Runs `attempt` until it resolves, throws `Final`, `signal` aborts, or `policy.attempts` attempts
 * failed — then throws an Error saying "failed after N attempts: <last reason>". Each attempt gets
 * a signal that aborts on its timeout or on `signal`; an attempt that ignores it is abandoned.
 */
export const withRetries = async <A>(policy: RetryPolicy, signal: AbortSignal, attempt: (signal: AbortSignal) => Promise<A>): Promise<A> => {
  let last = ""
  for (let n = 0; n < policy.attempts; n++) {
    if (n > 0) await Bun.sleep(policy.backoffMs * 2 ** (n - 1))
    if (signal.aborted) throw signal.reason
    // Cleared once the attempt settles: a response body may stream for longer than the timeout.
    const timeout = new AbortController()
    const timer = setTimeout(() => timeout.abort(new Error(`no response within ${policy.timeoutMs} ms`)), policy.timeoutMs)
    const both = AbortSignal.any([signal, timeout.signal])
    let onAbort: (() => void) | undefined
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(both.reason)
      both.addEventListener("abort", onAbort, { once: true })
    })
    try {
      return await Promise.race([attempt(both), aborted])
    } catch (error) {
      if (signal.aborted || error instanceof Final) throw error
      last = timeout.signal.aborted ? `no response within ${policy.timeoutMs} ms` : String((error as Error)?.message ?? error)
    } finally {
      clearTimeout(timer)
      both.removeEventListener("abort", onAbort!)
    }
  }
  throw new Error(`failed after ${policy.attempts} attempts: ${last}`)
}
