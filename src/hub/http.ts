// The fetch that kiln hands to @huggingface/hub: it adds what the client lacks — a timeout for a
// server that never answers, cancellation from the caller's AbortSignal, and the Hub's
// X-Error-Code of a failed reply (the client's HubApiError keeps only the status), so errors can
// say "gated" or "no such revision" rather than "status 404".

export interface HubFetch {
  readonly fetch: typeof fetch
  /** X-Error-Code (and X-Error-Message) of the last failed reply, if the Hub sent one. */
  readonly lastError: () => { readonly code: string | undefined; readonly message: string | undefined; readonly status: number } | undefined
  /** True when a request was aborted because the server took longer than the timeout. */
  readonly timedOut: () => boolean
  /** Aborts every request in flight (a stalled body); they fail as timed out. */
  readonly abortAsTimeout: () => void
}

export const makeHubFetch = (timeoutMs: number, signal: AbortSignal | undefined, base: typeof fetch = fetch): HubFetch => {
  let last: { code: string | undefined; message: string | undefined; status: number } | undefined
  let timedOut = false
  const inFlight = new Set<AbortController>()
  const wrapped = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const controller = new AbortController()
    const onAbort = () => controller.abort(signal?.reason)
    if (signal?.aborted) controller.abort(signal.reason)
    signal?.addEventListener("abort", onAbort, { once: true })
    inFlight.add(controller)
    // Only the wait for the response head is timed here; a body that stalls is caught by the reader.
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort(new Error(`no response within ${timeoutMs} ms`))
    }, timeoutMs)
    try {
      const response = await base(input, { ...init, signal: controller.signal })
      if (!response.ok) {
        last = { code: response.headers.get("x-error-code") ?? undefined, message: response.headers.get("x-error-message") ?? undefined, status: response.status }
      }
      return response
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener("abort", onAbort)
    }
  }
  return {
    fetch: wrapped as typeof fetch,
    lastError: () => last,
    timedOut: () => timedOut,
    abortAsTimeout: () => {
      timedOut = true
      for (const c of inFlight) c.abort(new Error("the server stopped sending"))
    },
  }
}
