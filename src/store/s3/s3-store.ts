// A remote store on S3 or any S3-compatible service (MinIO, R2, Ceph …) through Bun.S3Client:
// `s3://bucket/prefix` keeps blobs under prefix/cas/<sha256> and signed entries under
// prefix/ac/<key> — the same layout as the HTTP store, so one bucket can be served either way.
// Credentials and endpoint come from the usual AWS environment variables (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION / AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3
// or AWS_ENDPOINT_URL for a non-AWS service), never from the URL a log might print. Uploads
// stream the blob file through a multipart writer (a part at a time, a few in flight), so a 2 GB
// model never sits in memory; downloads hand the object's body on as a stream, which the tier
// hashes while it arrives. Requests are retried and timed out like the HTTP store's.
import * as Effect from "effect/Effect"
import { withIdleTimeout } from "../idle-timeout.ts"
import { defaultRetryPolicy, Final, type RetryPolicy, withRetries } from "../retry.ts"
import { checkedDigest, type Store, StoreError } from "../store.ts"

export interface S3StoreOptions extends Partial<RetryPolicy> {
  readonly env?: Record<string, string | undefined>
  /** Multipart part size (S3's minimum, 5 MiB, by default); blobs up to it go in one PUT. */
  readonly partSize?: number
  /** Parts uploaded at once per blob. */
  readonly queueSize?: number
}

const MiB = 1024 * 1024

/** Answers no retry can change: a missing key, a missing bucket, refused credentials. */
const FINAL_CODES = new Set(["NoSuchKey", "NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidBucketName", "ERR_S3_MISSING_CREDENTIALS", "ERR_S3_INVALID_PATH", "ERR_S3_INVALID_ENDPOINT", "ERR_S3_INVALID_SIGNATURE"])

const codeOf = (error: unknown): string | undefined => (typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : undefined)

class Missing extends Final {}

export const s3Store = (url: URL, options: S3StoreOptions = {}): Store | { readonly error: string } => {
  const policy: RetryPolicy = { ...defaultRetryPolicy, ...options }
  const env = options.env ?? process.env
  const bucket = url.hostname
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) return { error: `--remote-cache ${url.href}: "${bucket}" is not an S3 bucket name (expected s3://bucket/prefix: 3–63 lower-case letters, digits, dots and hyphens)` }
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, "")
  const describe = `s3://${bucket}${prefix === "" ? "" : `/${prefix}`}`
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION
  const client = new Bun.S3Client({
    bucket,
    // Explicit, so Bun's own fallbacks (S3_* variables) do not pick a different store than the docs say.
    ...(env.AWS_ACCESS_KEY_ID ? { accessKeyId: env.AWS_ACCESS_KEY_ID } : {}),
    ...(env.AWS_SECRET_ACCESS_KEY ? { secretAccessKey: env.AWS_SECRET_ACCESS_KEY } : {}),
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
    // Our own retries (withRetries) decide; Bun's would multiply them.
    retry: 0,
  })
  const objectKey = (path: string) => (prefix === "" ? path : `${prefix}/${path}`)

  /** One S3 operation with retries; a NoSuchKey answer is `undefined`, other final answers fail at once. */
  const call = <A>(what: string, path: string, op: () => Promise<A>) =>
    Effect.tryPromise({
      try: (signal) =>
        withRetries(policy, signal, async () => {
          try {
            return await op()
          } catch (error) {
            const code = codeOf(error)
            if (code === "NoSuchKey") throw new Missing()
            if (code !== undefined && FINAL_CODES.has(code)) throw new Final(`failed: ${code}: ${(error as Error).message}`)
            throw new Error(`${code ?? "S3 error"}: ${(error as Error)?.message ?? String(error)}`)
          }
        }).catch((error) => {
          if (error instanceof Missing) return undefined
          throw error
        }),
      catch: (cause) => new StoreError({ message: `${describe}: ${what} ${path} ${(cause as Error)?.message ?? String(cause)}`, cause }),
    })

  const checked = (what: string, text: string) => checkedDigest(describe, what, text)

  return {
    describe,
    hasBlob: (digest) =>
      Effect.gen(function* () {
        yield* checked("digest", digest)
        return (yield* call("HEAD", `cas/${digest}`, () => client.file(objectKey(`cas/${digest}`)).exists())) === true
      }),
    getBlob: (digest) =>
      Effect.gen(function* () {
        yield* checked("digest", digest)
        // The first chunk tells a missing object (NoSuchKey) from a present one in one request;
        // the rest of the body streams on behind it.
        const opened = yield* call("GET", `cas/${digest}`, async () => {
          const reader = client.file(objectKey(`cas/${digest}`)).stream().getReader()
          try {
            return { reader, first: await reader.read() }
          } catch (error) {
            await reader.cancel().catch(() => undefined)
            throw error
          }
        })
        if (opened === undefined) return undefined
        const { reader, first } = opened
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            if (first.done) controller.close()
            else controller.enqueue(first.value)
          },
          async pull(controller) {
            const chunk = await reader.read()
            if (chunk.done) controller.close()
            else controller.enqueue(chunk.value)
          },
          cancel: (reason) => reader.cancel(reason),
        })
        return withIdleTimeout(body, policy.timeoutMs, `${describe}: blob ${digest}`)
      }),
    putBlob: (digest, path) =>
      Effect.gen(function* () {
        yield* checked("digest", digest)
        // A retry starts the upload over from the file. Memory stays at about partSize × queueSize.
        yield* call("PUT", `cas/${digest}`, async () => {
          const writer = client.file(objectKey(`cas/${digest}`)).writer({ partSize: options.partSize ?? 5 * MiB, queueSize: options.queueSize ?? 2, type: "application/octet-stream" })
          for await (const chunk of Bun.file(path).stream()) await writer.write(chunk)
          await writer.end()
        })
      }),
    getAction: (key) =>
      Effect.gen(function* () {
        yield* checked("action key", key)
        return yield* call("GET", `ac/${key}`, () => client.file(objectKey(`ac/${key}`)).bytes())
      }),
    putAction: (key, bytes) =>
      Effect.gen(function* () {
        yield* checked("action key", key)
        yield* call("PUT", `ac/${key}`, () => client.write(objectKey(`ac/${key}`), bytes, { type: "application/json" }))
      }),
  }
}
