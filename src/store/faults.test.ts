// The remote tier when the remote misbehaves. Each fault: the run still succeeds from local work,
// the remote problem is a warning, and nothing wrong enters the local cache (every blob hashes to
// its name, no partial download is left) or the remote (no entry without its blobs). The faulty
// server speaks both of the stores' dialects at once — Bazel's HTTP layout under /kiln and S3
// path-style requests for bucket "kiln" are the same paths — so every fault runs on both stores.
import { afterEach, describe, expect, test } from "bun:test"
import { createHash } from "node:crypto"
import { readdirSync } from "node:fs"
import { join } from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as PlatformError from "effect/PlatformError"
import { cleanup, countingSteps, runCaptured, tempDir } from "../../tests/support.ts"
import { blobPath } from "../cache/blobs.ts"
import { sha256File } from "../cache/file-digest.ts"
import { cacheLayout } from "../cache/layout.ts"
import { listActionKeys, listBlobs } from "../cache/maintenance.ts"
import { pipeline } from "../engine/index.ts"

const KEY = "fault-signing-key"
const baseEnv = { KILN_CACHE_SIGNING_KEY: KEY, KILN_REMOTE_CACHE_TIMEOUT: "2" }

const dirs: string[] = []
const servers: { stop: (force?: boolean) => unknown }[] = []
const fresh = () => {
  const d = tempDir()
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const s of servers.splice(0)) s.stop(true)
  cleanup(...dirs.splice(0))
})

type Mode = "ok" | "lie" | "truncate" | "die-mid-download" | "die-mid-upload" | "error" | "slow"

/** How a runner reaches a server at host:port through one store: its URL and environment. */
interface Dialect {
  readonly name: string
  /** How its store reports a server's 500 / 503. */
  readonly serverError: RegExp
  readonly remote: (hostPort: string) => { readonly url: string; readonly env: (extra?: Record<string, string>) => Record<string, string> }
}

const dialects: readonly Dialect[] = [
  { name: "http", serverError: /HTTP 50[03]/, remote: (hostPort) => ({ url: `http://${hostPort}/kiln`, env: (extra = {}) => ({ ...baseEnv, ...extra }) }) },
  {
    name: "s3",
    serverError: /InternalError|ServiceUnavailable/,
    remote: (hostPort) => ({
      url: "s3://kiln",
      env: (extra = {}) => ({ ...baseEnv, AWS_ACCESS_KEY_ID: "fault", AWS_SECRET_ACCESS_KEY: "fault", AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_S3: `http://${hostPort}`, ...extra }),
    }),
  },
]

for (const dialect of dialects) {
  /** A cache server in memory whose behaviour a test switches (`mode`). */
  const fakeServer = (initial: Mode = "ok") => {
    const files = new Map<string, Uint8Array>()
    const requests: string[] = []
    const state = { mode: initial }
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 30,
      fetch: async (req) => {
        const path = new URL(req.url).pathname
        requests.push(`${req.method} ${path}`)
        const mode = state.mode
        if (mode === "error") {
        // As S3 answers them (an XML error naming the code); plain HTTP clients look at the status.
        const [status, code] = requests.length % 2 === 0 ? [500, "InternalError"] : [503, "ServiceUnavailable"]
        return new Response(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>try again</Message></Error>`, { status, headers: { "content-type": "application/xml" } })
      }
        if (mode === "slow") {
          await Bun.sleep(5_000)
          return new Response(null, { status: 404 })
        }
        if (req.method === "PUT") {
          if (mode === "die-mid-upload" && path.includes("/cas/")) {
            server.stop(true)
            return new Response(null, { status: 500 })
          }
          files.set(path, new Uint8Array(await req.arrayBuffer()))
          return new Response(null, { status: 200 })
        }
        const body = files.get(path)
        if (body === undefined)
          return req.method === "HEAD"
            ? new Response(null, { status: 404 })
            : new Response(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>`, { status: 404, headers: { "content-type": "application/xml" } })
        if (req.method === "HEAD") return new Response(null, { status: 200, headers: { "content-length": String(body.byteLength) } })
        if (path.includes("/cas/") && mode === "lie") {
          const wrong = body.slice()
          wrong[0] = wrong[0]! ^ 0xff
          return new Response(wrong)
        }
        if (path.includes("/cas/") && (mode === "truncate" || mode === "die-mid-download") && body.byteLength > 1) {
          const half = body.slice(0, body.byteLength >> 1)
          return new Response(
            new ReadableStream({
              start(controller) {
                controller.enqueue(half)
                if (mode === "die-mid-download") server.stop(true)
                else controller.close() // fewer bytes than content-length announced
              },
            }),
            { headers: { "content-length": String(body.byteLength) } },
          )
        }
        return new Response(body)
      },
    })
    servers.push(server)
    const at = dialect.remote(`127.0.0.1:${server.port}`)
    return { ...at, files, requests, state }
  }

  const twoSteps = (s: ReturnType<typeof countingSteps>) => pipeline("p", s.emit({ text: "payload", repeat: 5000 })).then(s.upper({}))

  /** Nothing wrong entered the local cache: every blob hashes to its name and no download is left over. */
  const localIsSound = (dir: string) => {
    const layout = cacheLayout(join(dir, "cache"))
    for (const digest of listBlobs(layout)) expect(sha256File(blobPath(layout, digest))).toBe(digest)
    const leftovers = readdirSync(layout.tmp, { recursive: true }).map(String).filter((name) => name.includes("download-"))
    expect(leftovers).toEqual([])
  }

  /** Every entry on the fake remote names only blobs it holds. */
  const remoteIsSound = (server: ReturnType<typeof fakeServer>) => {
    const cas = new Set([...server.files.keys()].filter((p) => p.includes("/cas/")).map((p) => p.split("/").pop()!))
    for (const [path, bytes] of server.files) {
      if (!path.includes("/ac/")) continue
      const { entry } = JSON.parse(new TextDecoder().decode(bytes)) as { entry: { output: string; log: string | null } }
      expect(cas.has(entry.output)).toBe(true)
      expect(entry.log === null || cas.has(entry.log)).toBe(true)
      // the manifest's files too
      const manifest = JSON.parse(new TextDecoder().decode(server.files.get(`/kiln/cas/${entry.output}`)!)) as { entries: { digest: string }[] }
      for (const e of manifest.entries) expect(cas.has(e.digest)).toBe(true)
    }
  }

  /** Fills the fake remote from one runner, then lets a fresh runner read it under `mode`. */
  const readUnder = async (mode: Mode, extraEnv: Record<string, string> = {}) => {
    const server = fakeServer()
    const s = countingSteps()
    const first = await runCaptured(twoSteps(s), fresh(), ["--remote-cache", server.url], { env: server.env() })
    expect(first.code).toBe(0)
    expect(first.status).toEqual({ emit: "ran", upper: "ran" })
    server.state.mode = mode
    s.runs.length = 0
    const dir = fresh()
    const r = await runCaptured(twoSteps(s), dir, ["--remote-cache", server.url, "--remote-read-only"], { env: server.env(extraEnv) })
    return { r, dir, s, server, first }
  }

  describe(`remote faults over ${dialect.name}: the run succeeds from local work and nothing wrong is cached`, () => {
    test("server down from the start: warnings, every step built locally", async () => {
      const dir = fresh()
      const s = countingSteps()
      const down = dialect.remote("127.0.0.1:9")
      const r = await runCaptured(twoSteps(s), dir, ["--remote-cache", down.url], { env: down.env() })
      expect(r.code).toBe(0)
      expect(r.status).toEqual({ emit: "ran", upper: "ran" })
      expect(r.stderr).toContain("remote cache:")
      expect(r.stderr).toContain("failed after 3 attempts")
      localIsSound(dir)
    }, 30_000)

    test("500s and 503s are retried a bounded number of times, then the step is built locally", async () => {
      const server = fakeServer("error")
      const dir = fresh()
      const s = countingSteps()
      const r = await runCaptured(twoSteps(s), dir, ["--remote-cache", server.url], { env: server.env() })
      expect(r.code).toBe(0)
      expect(r.status).toEqual({ emit: "ran", upper: "ran" })
      expect(r.stderr).toMatch(dialect.serverError)
      // Per step: GET ac (3 attempts), then the upload's HEADs. Blobs go up several at once, so
      // others may be tried (and cut short) before the first gives up: at most 3 attempts per blob
      // per step (two steps here, sharing the empty log blob), and nothing is ever PUT.
      const attempts = new Map<string, number>()
      for (const request of server.requests) attempts.set(request, (attempts.get(request) ?? 0) + 1)
      const gets = [...attempts].filter(([request]) => request.startsWith("GET "))
      expect(gets.map(([, n]) => n)).toEqual([3, 3])
      const others = [...attempts].filter(([request]) => !request.startsWith("GET "))
      expect(others.filter(([request, n]) => !request.startsWith("HEAD ") || n > 2 * 3)).toEqual([])
      expect(server.files.size).toBe(0)
      localIsSound(dir)
    }, 30_000)

    test("a server that lies (bytes not matching the digest) is caught while streaming; the step runs", async () => {
      const { r, dir, s } = await readUnder("lie")
      expect(r.code).toBe(0)
      expect(r.status).toEqual({ emit: "ran", upper: "ran" })
      expect(s.runs.sort()).toEqual(["emit", "upper"])
      expect(r.stderr).toContain("wrong content")
      localIsSound(dir)
    }, 30_000)

    test("a truncated body is never published", async () => {
      const { r, dir } = await readUnder("truncate")
      expect(r.code).toBe(0)
      expect(r.status).toEqual({ emit: "ran", upper: "ran" })
      expect(r.stderr).toContain("remote cache:")
      localIsSound(dir)
    }, 30_000)

    test("the server dying mid-download leaves no partial blob; the run builds locally", async () => {
      const { r, dir } = await readUnder("die-mid-download")
      expect(r.code).toBe(0)
      expect(r.status).toEqual({ emit: "ran", upper: "ran" })
      localIsSound(dir)
    }, 30_000)

    test("a slow server times out and the step is built locally", async () => {
      const { r, dir } = await readUnder("slow", { KILN_REMOTE_CACHE_TIMEOUT: "0.2" })
      expect(r.code).toBe(0)
      expect(r.status).toEqual({ emit: "ran", upper: "ran" })
      expect(r.stderr).toContain("no response within 200 ms")
      localIsSound(dir)
    }, 30_000)

    test("the server dying mid-upload: the run succeeds and no entry is announced without its blobs", async () => {
      const server = fakeServer("die-mid-upload")
      const dir = fresh()
      const s = countingSteps()
      const r = await runCaptured(twoSteps(s), dir, ["--remote-cache", server.url], { env: server.env() })
      expect(r.code).toBe(0)
      expect(r.status).toEqual({ emit: "ran", upper: "ran" })
      expect(r.stderr).toContain("upload of")
      expect([...server.files.keys()].filter((p) => p.includes("/ac/"))).toEqual([])
      remoteIsSound(server)
      expect(listActionKeys(cacheLayout(join(dir, "cache"))).length).toBe(2)
    }, 30_000)

    test("an upload that succeeds leaves every remote entry naming only blobs the remote holds", async () => {
      const { server, first } = await readUnder("ok")
      expect([...server.files.keys()].filter((p) => p.includes("/ac/")).length).toBe(first.json.steps.length)
      remoteIsSound(server)
    }, 30_000)

    test("a full local disk while downloading: the download is dropped, the step runs, the run succeeds", async () => {
      const server = fakeServer()
      const s = countingSteps()
      await runCaptured(twoSteps(s), fresh(), ["--remote-cache", server.url], { env: server.env() })
      const diskFullForDownloads = Layer.effect(FileSystem.FileSystem)(
        Effect.gen(function* () {
          const fs = yield* FileSystem.FileSystem
          return FileSystem.make({
            ...fs,
            open: (path, options) =>
              path.includes("/download-")
                ? Effect.fail(
                    PlatformError.systemError({
                      _tag: "Unknown",
                      module: "FileSystem",
                      method: "open",
                      syscall: "write",
                      pathOrDescriptor: path,
                      cause: Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write", path }),
                    }),
                  )
                : fs.open(path, options),
          })
        }),
      ).pipe(Layer.provide(NodeFileSystem.layer))
      const dir = fresh()
      s.runs.length = 0
      const r = await runCaptured(twoSteps(s), dir, ["--remote-cache", server.url, "--remote-read-only"], { env: server.env(), fileSystem: diskFullForDownloads })
      expect(r.code).toBe(0)
      expect(r.status).toEqual({ emit: "ran", upper: "ran" })
      expect(r.stderr).toContain("writing blob")
      localIsSound(dir)
    }, 30_000)
  })

  test(`the fake server's content is what the runner uploaded over ${dialect.name} (sha256 names)`, async () => {
    const { server } = await readUnder("ok")
    for (const [path, bytes] of server.files) if (path.includes("/cas/")) expect(createHash("sha256").update(bytes).digest("hex")).toBe(path.split("/").pop()!)
  }, 30_000)
}
