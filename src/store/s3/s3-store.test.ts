// The S3 store against s3rver on loopback: a blob larger than a part goes up as a multipart upload
// streamed from its file and comes back byte for byte through the verified download; a missing
// object is "absent", not an error; `s3://bucket/prefix` URLs and the AWS environment are read as
// documented, and a bad bucket name or credentials in the URL are refused with a sentence.
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { createHash } from "node:crypto"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import { cleanup, freshDirsPerTest, tempDir } from "../../../tests/support.ts"
import { blobPath } from "../../cache/blobs.ts"
import { sha256File } from "../../cache/file-digest.ts"
import { cacheLayout } from "../../cache/layout.ts"
import { downloadBlob } from "../download.ts"
import { openStore } from "../registry.ts"
import type { Store } from "../store.ts"
import { type S3rver, s3rverUnavailable, startS3rver } from "../testing/s3rver.ts"
import { s3Store } from "./s3-store.ts"

const unavailable = s3rverUnavailable()
if (unavailable !== undefined) console.warn(`skipping the s3rver S3 store tests: ${unavailable}`)

const fresh = freshDirsPerTest()
const run = <A, E>(effect: Effect.Effect<A, E, never>) => Effect.runPromise(effect)

describe.skipIf(unavailable !== undefined)("the S3 store on s3rver", () => {
  let server: S3rver
  let serverDir: string
  beforeAll(async () => {
    serverDir = tempDir("kiln-s3rver-")
    server = await startS3rver(serverDir)
  })
  afterAll(async () => {
    await server?.stop()
    if (serverDir !== undefined) cleanup(serverDir)
  })
  const storeAt = (prefix: string, partSize?: number): Store => {
    const store = s3Store(new URL(`${server.url}/${prefix}`), { env: server.env, ...(partSize !== undefined ? { partSize } : {}) })
    if ("error" in store) throw new Error(store.error)
    return store
  }

  test("a blob over the part size goes up in parts from its file and comes back identical through the verified download", async () => {
    const dir = fresh()
    // 11 MiB of seeded bytes: three 5 MiB-or-less parts.
    const bytes = new Uint8Array(11 * 1024 * 1024 + 17)
    let x = 12345
    for (let i = 0; i < bytes.length; i++) bytes[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24
    const file = join(dir, "big.bin")
    writeFileSync(file, bytes)
    const digest = createHash("sha256").update(bytes).digest("hex")
    const store = storeAt("multipart", 5 * 1024 * 1024)
    expect(await run(store.hasBlob(digest))).toBe(false)
    await run(store.putBlob(digest, file, bytes.length))
    expect(await run(store.hasBlob(digest))).toBe(true)
    expect((await server.client.file(`multipart/cas/${digest}`).stat()).size).toBe(bytes.length)

    const layout = cacheLayout(join(dir, "cache"))
    mkdirSync(layout.tmp, { recursive: true })
    const fetched = await Effect.runPromise(downloadBlob(layout, store, digest, bytes.length).pipe(Effect.provide(NodeFileSystem.layer)))
    expect(fetched).toBe("stored")
    expect(sha256File(blobPath(layout, digest))).toBe(digest)
  }, 60_000)

  test("an empty blob and a missing one: stored and read back as empty; absent is undefined, not an error", async () => {
    const dir = fresh()
    const empty = join(dir, "empty")
    writeFileSync(empty, "")
    const digest = createHash("sha256").digest("hex")
    const store = storeAt("edges")
    await run(store.putBlob(digest, empty, 0))
    const body = await run(store.getBlob(digest))
    expect(body).toBeDefined()
    expect((await new Response(body!).arrayBuffer()).byteLength).toBe(0)
    expect(await run(store.getBlob("f".repeat(64)))).toBeUndefined()
    expect(await run(store.getAction("e".repeat(64)))).toBeUndefined()
    await run(store.putAction("e".repeat(64), new TextEncoder().encode("{}")))
    expect(new TextDecoder().decode(await run(store.getAction("e".repeat(64))))).toBe("{}")
  }, 60_000)

  test("unknown credentials fail at once with the server's reason, not after retries of a hopeless request", async () => {
    // (s3rver checks the access key id; it does not check SigV4 signatures.)
    const store = s3Store(new URL(`${server.url}/creds`), { env: { ...server.env, AWS_ACCESS_KEY_ID: "NOBODY" } })
    if ("error" in store) throw new Error(store.error)
    const error = await run(Effect.flip(store.getAction("e".repeat(64))))
    expect(error.message).toContain("InvalidAccessKeyId")
    expect(error.message).not.toContain("attempts")
  }, 60_000)
})

test("s3:// URLs: bucket and prefix from the URL, AWS endpoint from the environment; bad names and URL credentials refused", () => {
  const store = openStore("s3://my-bucket/team/kiln/", { AWS_ENDPOINT_URL_S3: "http://127.0.0.1:1" })
  expect("error" in store ? store.error : store.describe).toBe("s3://my-bucket/team/kiln")
  const bad = openStore("s3://My_Bucket/x", {})
  expect("error" in bad && bad.error).toContain("is not an S3 bucket name")
  const creds = openStore("s3://key:secret@my-bucket/x", {})
  expect("error" in creds && creds.error).toContain("AWS_ACCESS_KEY_ID")
})
