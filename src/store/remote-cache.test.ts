// The remote tier against real servers, each test once per store: Debian's nginx with WebDAV on
// loopback (Bazel's layout over http://) and s3rver (s3://). A runner that starts empty is served
// what another runner uploaded; forged, unsigned and incomplete remote entries and blobs whose
// bytes lie are never served; two runners uploading at once leave a usable remote.
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { cleanup, countingSteps, freshDirsPerTest, runCaptured, tempDir } from "../../tests/support.ts"
import { listBlobs } from "../cache/maintenance.ts"
import { cacheLayout } from "../cache/layout.ts"
import { sha256File } from "../cache/file-digest.ts"
import { blobPath } from "../cache/blobs.ts"
import { runKiln } from "../cli/kiln.ts"
import { pipeline } from "../engine/index.ts"
import { openSignedEntry, signEntry } from "./signing.ts"
import { type RunningServer, testServers } from "./testing/servers.ts"

const KEY = "test-signing-key-0123456789"
const fresh = freshDirsPerTest()

const twoSteps = (s: ReturnType<typeof countingSteps>) => pipeline("p", s.emit({ text: "payload", repeat: 1000 })).then(s.upper({ suffix: "!" }))

/** Every blob in a local cache still hashes to its name: nothing wrong entered it. */
const cacheIsSound = (dir: string) => {
  const layout = cacheLayout(join(dir, "cache"))
  for (const digest of listBlobs(layout)) expect(sha256File(blobPath(layout, digest))).toBe(digest)
}

for (const kind of testServers) {
  if (kind.unavailable !== undefined) console.warn(`skipping the ${kind.name} remote-cache tests: ${kind.unavailable}`)

  describe.skipIf(kind.unavailable !== undefined)(`remote cache over ${kind.name}`, () => {
    let server: RunningServer
    let serverDir: string
    beforeAll(async () => {
      serverDir = tempDir("kiln-remote-server-")
      server = await kind.start(serverDir)
    })
    afterAll(async () => {
      await server?.stop()
      if (serverDir !== undefined) cleanup(serverDir)
    })
    const env = (extra: Record<string, string> = {}) => ({ ...server.env, KILN_CACHE_SIGNING_KEY: KEY, ...extra })

    test("an empty runner is served what another runner uploaded, identical bytes, without running a step", async () => {
      const url = server.freshUrl()
      const a = fresh()
      const s = countingSteps()
      const first = await runCaptured(twoSteps(s), a, ["--remote-cache", url], { env: env() })
      expect(first.code).toBe(0)
      expect(first.status).toEqual({ emit: "ran", upper: "ran" })
      // Bazel's layout on the server: blobs under cas/, signed entries under ac/.
      expect((await server.list(url, "ac")).sort()).toEqual(first.json.steps.map((x) => x.key).sort())
      expect((await server.list(url, "cas")).length).toBeGreaterThanOrEqual(4)

      const b = fresh()
      s.runs.length = 0
      const second = await runCaptured(twoSteps(s), b, ["--remote-cache", url], { env: env() })
      expect(second.code).toBe(0)
      expect(second.status).toEqual({ emit: "remote", upper: "remote" })
      expect(s.runs).toEqual([])
      const out = (r: typeof first) => readFileSync(join(r.json.steps.find((x) => x.id === "upper")!.outputs.out!.path, "text.txt"), "utf8")
      expect(out(second)).toBe(out(first))
      expect(second.json.steps.map((x) => x.outputs.out!.digest)).toEqual(first.json.steps.map((x) => x.outputs.out!.digest))
      cacheIsSound(b)
      // Now local: the next run is a plain local hit.
      const third = await runCaptured(twoSteps(s), b, ["--remote-cache", url], { env: env() })
      expect(third.status).toEqual({ emit: "cached", upper: "cached" })
    }, 60_000)

    test("kiln cache status shows the remote tier and counts remote hits apart from local hits", async () => {
      const url = server.freshUrl()
      const s = countingSteps()
      await runCaptured(twoSteps(s), fresh(), ["--remote-cache", url], { env: env() })
      const b = fresh()
      await runCaptured(twoSteps(s), b, ["--remote-cache", url], { env: env() })
      await runCaptured(twoSteps(s), b, ["--remote-cache", url], { env: env() })
      // `kiln cache status` reads the process environment, as a user's shell gives it.
      const saved = { ...process.env }
      Object.assign(process.env, server.env)
      try {
        let out = ""
        expect(await runKiln(["cache", "status", "--cache-dir", join(b, "cache"), "--remote-cache", url], { write: (t: string) => (out += t) })).toBe(0)
        expect(out).toContain("steps over 2 recorded run(s): 0 built here, 2 local hits, 2 remote hits")
        expect(out).toContain(`remote tier: ${url}: reachable`)
      } finally {
        for (const name of Object.keys(server.env)) if (saved[name] === undefined) delete process.env[name]
        Object.assign(process.env, saved)
      }
      let down = ""
      await runKiln(["cache", "status", "--cache-dir", join(b, "cache"), "--remote-cache", "http://127.0.0.1:9/x"], { write: (t: string) => (down += t) })
      expect(down).toContain("unreachable")
    }, 60_000)

    test("--remote-read-only reads but never uploads; --no-remote ignores KILN_REMOTE_CACHE", async () => {
      const url = server.freshUrl()
      const s = countingSteps()
      const ro = await runCaptured(twoSteps(s), fresh(), ["--remote-read-only", "--remote-cache", url], { env: env() })
      expect(ro.code).toBe(0)
      expect(await server.list(url, "ac")).toEqual([])
      expect(await server.list(url, "cas")).toEqual([])
      const off = await runCaptured(twoSteps(s), fresh(), ["--no-remote"], { env: env({ KILN_REMOTE_CACHE: url }) })
      expect(off.code).toBe(0)
      expect(await server.list(url, "ac")).toEqual([])
      const on = await runCaptured(twoSteps(s), fresh(), [], { env: env({ KILN_REMOTE_CACHE: url }) })
      expect(on.code).toBe(0)
      expect((await server.list(url, "ac")).length).toBe(2)
    }, 60_000)

    test("without KILN_CACHE_SIGNING_KEY the remote is not used, and the run says so", async () => {
      const url = server.freshUrl()
      const s = countingSteps()
      await runCaptured(twoSteps(s), fresh(), ["--remote-cache", url], { env: env() })
      const r = await runCaptured(twoSteps(s), fresh(), ["--remote-cache", url], { env: { ...server.env } })
      expect(r.code).toBe(0)
      expect(r.status).toEqual({ emit: "ran", upper: "ran" })
      expect(r.stderr).toContain("KILN_CACHE_SIGNING_KEY is not set")
      const upload = await runCaptured(twoSteps(s), fresh(), ["--remote-cache", url, "--remote-upload"], { env: { ...server.env } })
      expect(upload.code).toBe(2)
      expect(upload.stderr).toContain("--remote-upload needs KILN_CACHE_SIGNING_KEY")
    }, 60_000)

    test("a forged entry (signed with another key) and an unsigned entry are ignored with a warning, never served", async () => {
      const url = server.freshUrl()
      const s = countingSteps()
      const first = await runCaptured(twoSteps(s), fresh(), ["--remote-cache", url], { env: env() })
      const [emitKey, upperKey] = first.json.steps.map((x) => x.key)
      // The forger rewrites emit's entry to point at upper's output, signing with a key of their own.
      const genuine = async (key: string) => {
        const opened = openSignedEntry(KEY, key, await server.read(url, "ac", key))
        if (!("entry" in opened)) throw new Error(opened.rejected)
        return opened.entry
      }
      const forged = { ...(await genuine(emitKey!)), output: (await genuine(upperKey!)).output }
      const unsigned = JSON.stringify(await genuine(upperKey!))
      await server.write(url, "ac", emitKey!, signEntry("the forger's key", forged))
      await server.write(url, "ac", upperKey!, unsigned)
      s.runs.length = 0
      const b = fresh()
      const r = await runCaptured(twoSteps(s), b, ["--remote-cache", url, "--remote-read-only"], { env: env() })
      expect(r.code).toBe(0)
      expect(r.status).toEqual({ emit: "ran", upper: "ran" })
      expect(r.stderr).toContain("bad signature")
      expect(r.stderr).toContain("unsigned")
      expect(readFileSync(join(r.json.steps[0]!.outputs.out!.path, "text.txt"), "utf8")).toBe("payload".repeat(1000))
    }, 60_000)

    test("an entry naming a blob the server lacks is not a hit: the step runs locally", async () => {
      const url = server.freshUrl()
      const s = countingSteps()
      const first = await runCaptured(twoSteps(s), fresh(), ["--remote-cache", url], { env: env() })
      const upper = first.json.steps.find((x) => x.id === "upper")!
      const manifest = JSON.parse(new TextDecoder().decode(await server.read(url, "cas", upper.outputs.out!.digest))) as { entries: { digest: string }[] }
      await server.remove(url, "cas", manifest.entries[0]!.digest)
      s.runs.length = 0
      const b = fresh()
      const r = await runCaptured(twoSteps(s), b, ["--remote-cache", url, "--remote-read-only"], { env: env() })
      expect(r.code).toBe(0)
      expect(r.status).toEqual({ emit: "remote", upper: "ran" })
      expect(r.stderr).toContain("lacks")
      cacheIsSound(b)
    }, 60_000)

    test("a stored blob whose bytes do not hash to its name is caught while streaming and never published", async () => {
      const url = server.freshUrl()
      const s = countingSteps()
      const first = await runCaptured(twoSteps(s), fresh(), ["--remote-cache", url], { env: env() })
      const upper = first.json.steps.find((x) => x.id === "upper")!
      const manifest = JSON.parse(new TextDecoder().decode(await server.read(url, "cas", upper.outputs.out!.digest))) as { entries: { digest: string }[] }
      const victim = manifest.entries[0]!.digest
      const bytes = await server.read(url, "cas", victim)
      bytes[0] = bytes[0]! ^ 0xff
      await server.write(url, "cas", victim, bytes)
      s.runs.length = 0
      const b = fresh()
      const r = await runCaptured(twoSteps(s), b, ["--remote-cache", url, "--remote-read-only"], { env: env() })
      expect(r.code).toBe(0)
      expect(r.status).toEqual({ emit: "remote", upper: "ran" })
      expect(r.stderr).toContain("wrong content")
      cacheIsSound(b)
    }, 60_000)

    test("two runners uploading the same entries at once leave a remote a third runner is fully served from", async () => {
      const url = server.freshUrl()
      const s = countingSteps()
      const [x, y] = await Promise.all([
        runCaptured(twoSteps(s), fresh(), ["--remote-cache", url], { env: env() }),
        runCaptured(twoSteps(s), fresh(), ["--remote-cache", url], { env: env() }),
      ])
      expect([x.code, y.code]).toEqual([0, 0])
      s.runs.length = 0
      const z = await runCaptured(twoSteps(s), fresh(), ["--remote-cache", url], { env: env() })
      expect(z.status).toEqual({ emit: "remote", upper: "remote" })
      expect(s.runs).toEqual([])
    }, 60_000)
  })
}
