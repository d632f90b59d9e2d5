// A remote store over HTTP in Bazel's remote-cache layout: GET / PUT / HEAD {base}/cas/<sha256>
// and {base}/ac/<key>, so nginx with WebDAV, bazel-remote or any such server serves it. Bodies
// stream both ways (an upload reads the blob file as it goes; a download hands the response body
// on), every request has a timeout (a download an idle timeout between chunks), and failures that
// may pass (network errors, 408 / 429 / 5xx) are retried a bounded number of times with backoff.
// Credentials come from the environment, never the URL a log might print: KILN_REMOTE_CACHE_TOKEN
// (bearer) or KILN_REMOTE_CACHE_BASIC ("user:password").
import * as Effect from "effect/Effect"
import { withIdleTimeout } from "../idle-timeout.ts"
import { defaultRetryPolicy, type RetryPolicy, withRetries } from "../retry.ts"
import { checkedDigest, type Store, StoreError } from "../store.ts"

export interface HttpStoreOptions extends Partial<RetryPolicy> {
  readonly env?: Record<string, string | undefined>
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504])

export const httpStore = (url: URL, options: HttpStoreOptions = {}): Store => {
  const policy: RetryPolicy = { ...defaultRetryPolicy, ...options }
  const env = options.env ?? process.env
  const base = url.href.replace(/\/+$/, "")
  const describe = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`
  const headers: Record<string, string> = {}
  if (env.KILN_REMOTE_CACHE_TOKEN) headers.authorization = `Bearer ${env.KILN_REMOTE_CACHE_TOKEN}`
  else if (env.KILN_REMOTE_CACHE_BASIC) headers.authorization = `Basic ${Buffer.from(env.KILN_REMOTE_CACHE_BASIC).toString("base64")}`

  /** One request with retries; resolves with the response whose status is final (not retryable). */
  const request = (method: string, path: string, body?: () => Blob | Uint8Array, extra: Record<string, string> = {}) =>
    Effect.tryPromise({
      try: (signal) =>
        withRetries(policy, signal, async (attemptSignal) => {
          const response = await fetch(`${base}/${path}`, { method, headers: { ...headers, ...extra }, signal: attemptSignal, ...(body !== undefined ? { body: body() } : {}) })
          if (RETRYABLE.has(response.status)) {
            await response.body?.cancel().catch(() => undefined)
            throw new Error(`HTTP ${response.status} ${response.statusText}`)
          }
          return response
        }),
      catch: (cause) => new StoreError({ message: `${describe}: ${method} ${path} ${(cause as Error)?.message ?? String(cause)}`, cause }),
    })

  const unexpected = (method: string, path: string, response: Response) =>
    new StoreError({ message: `${describe}: ${method} ${path} answered HTTP ${response.status} ${response.statusText}` })

  const checked = (what: string, text: string) => checkedDigest(describe, what, text)

  return {
    describe,
    hasBlob: (digest) =>
      Effect.gen(function* () {
        yield* checked("digest", digest)
        const response = yield* request("HEAD", `cas/${digest}`)
        if (response.status === 404) return false
        if (response.ok) return true
        return yield* unexpected("HEAD", `cas/${digest}`, response)
      }),
    getBlob: (digest) =>
      Effect.gen(function* () {
        yield* checked("digest", digest)
        const response = yield* request("GET", `cas/${digest}`)
        if (response.status === 404) return undefined
        if (!response.ok || response.body === null) return yield* unexpected("GET", `cas/${digest}`, response)
        return withIdleTimeout(response.body, policy.timeoutMs, `${describe}: blob ${digest}`)
      }),
    putBlob: (digest, path, size) =>
      Effect.gen(function* () {
        yield* checked("digest", digest)
        // Bun.file streams the file from disk; a retry re-opens it.
        const response = yield* request("PUT", `cas/${digest}`, () => Bun.file(path), { "content-length": String(size), "content-type": "application/octet-stream" })
        if (!response.ok) return yield* unexpected("PUT", `cas/${digest}`, response)
      }),
    getAction: (key) =>
      Effect.gen(function* () {
        yield* checked("action key", key)
        const response = yield* request("GET", `ac/${key}`)
        if (response.status === 404) return undefined
        if (!response.ok) return yield* unexpected("GET", `ac/${key}`, response)
        return new Uint8Array(yield* Effect.tryPromise({ try: () => response.arrayBuffer(), catch: (cause) => new StoreError({ message: `${describe}: reading entry ${key} broke off`, cause }) }))
      }),
    putAction: (key, bytes) =>
      Effect.gen(function* () {
        yield* checked("action key", key)
        const response = yield* request("PUT", `ac/${key}`, () => bytes, { "content-type": "application/json" })
        if (!response.ok) return yield* unexpected("PUT", `ac/${key}`, response)
      }),
  }
}
