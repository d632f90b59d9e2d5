// A remote store over HTTP in Bazel's remote-cache layout: GET / PUT / HEAD {base}/cas/<sha256>
// and {base}/ac/<key>, so nginx with WebDAV, bazel-remote or any such server serves it. Bodies
// stream both ways (an upload reads the blob file as it goes; a download hands the response body
// on), every request has a timeout (a download an idle timeout between chunks), and failures that
// may pass (network errors, 408 / 429 / 5xx) are retried a bounded number of times with backoff.
// Credentials come from the environment, never the URL a log might print: KILN_REMOTE_CACHE_TOKEN
// (bearer) or KILN_REMOTE_CACHE_BASIC ("user:password").
import * as Effect from "effect/Effect"
import { isDigest, type Store, StoreError } from "../store.ts"

export interface HttpStoreOptions {
  /** Per request until the response headers, and between two chunks of a body (default 30 s). */
  readonly timeoutMs?: number
  /** Attempts per request, the first included (default 3). */
  readonly attempts?: number
  /** First retry delay; doubled per retry (default 200 ms). */
  readonly backoffMs?: number
  readonly env?: Record<string, string | undefined>
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504])

class Retryable extends Error {}

export const httpStore = (url: URL, options: HttpStoreOptions = {}): Store => {
  const timeoutMs = options.timeoutMs ?? 30_000
  const attempts = options.attempts ?? 3
  const backoffMs = options.backoffMs ?? 200
  const env = options.env ?? process.env
  const base = url.href.replace(/\/+$/, "")
  const describe = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`
  const headers: Record<string, string> = {}
  if (env.KILN_REMOTE_CACHE_TOKEN) headers.authorization = `Bearer ${env.KILN_REMOTE_CACHE_TOKEN}`
  else if (env.KILN_REMOTE_CACHE_BASIC) headers.authorization = `Basic ${Buffer.from(env.KILN_REMOTE_CACHE_BASIC).toString("base64")}`

  /** One request with retries; resolves with the response whose status is final (not retryable). */
  const request = (method: string, path: string, body?: () => Blob | Uint8Array, extra: Record<string, string> = {}) =>
    Effect.tryPromise({
      try: async (signal) => {
        let lastError = ""
        for (let attempt = 0; attempt < attempts; attempt++) {
          if (attempt > 0) await Bun.sleep(backoffMs * 2 ** (attempt - 1))
          const timeout = AbortSignal.timeout(timeoutMs)
          try {
            const response = await fetch(`${base}/${path}`, { method, headers: { ...headers, ...extra }, signal: AbortSignal.any([signal, timeout]), ...(body !== undefined ? { body: body() } : {}) })
            if (RETRYABLE.has(response.status)) {
              lastError = `HTTP ${response.status} ${response.statusText}`
              await response.body?.cancel().catch(() => undefined)
              continue
            }
            return response
          } catch (error) {
            if (signal.aborted) throw error
            lastError = timeout.aborted ? `no response within ${timeoutMs} ms` : String((error as Error)?.message ?? error)
          }
        }
        throw new Retryable(lastError)
      },
      catch: (cause) => new StoreError({ message: `${describe}: ${method} ${path} failed after ${attempts} attempts: ${(cause as Error)?.message ?? String(cause)}`, cause }),
    })

  const unexpected = (method: string, path: string, response: Response) =>
    new StoreError({ message: `${describe}: ${method} ${path} answered HTTP ${response.status} ${response.statusText}` })

  const checked = (what: string, text: string) =>
    isDigest(text) ? Effect.void : Effect.fail(new StoreError({ message: `${describe}: ${text} is not a sha256 ${what}` }))

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
        return withIdleTimeout(response.body, timeoutMs, `${describe}: blob ${digest}`)
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

/** The body, failing when no chunk arrives for `ms` (a stalled server) instead of hanging. */
const withIdleTimeout = (body: ReadableStream<Uint8Array>, ms: number, what: string): ReadableStream<Uint8Array> => {
  const reader = body.getReader()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no data for ${ms} ms`)), ms)
      })
      try {
        const chunk = await Promise.race([reader.read(), stalled])
        if (chunk.done) controller.close()
        else controller.enqueue(chunk.value)
      } catch (error) {
        await reader.cancel().catch(() => undefined)
        controller.error(error)
      } finally {
        clearTimeout(timer)
      }
    },
    cancel: (reason) => reader.cancel(reason),
  })
}
