// fetchSnapshot against a local server shaped like the Hub, and against cache folders laid out by
// Python's huggingface_hub: what is downloaded, what is reused, and how each failure reads.
import { afterEach, describe, expect, test } from "bun:test"
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { cleanup, tempDir } from "../../tests/support.ts"
import { HubError } from "./errors.ts"
import type { WantedFiles } from "./files.ts"
import { hubRepo } from "./repo.ts"
import { hubSettingsFromEnv, type HubSettings } from "./settings.ts"
import { fetchSnapshot, type SnapshotRequest } from "./snapshot.ts"
import { type FakeFile, type FakeHub, gitOid, sha256Hex, startFakeHub } from "./testing/fake-hub.ts"
import { writePythonCache } from "./testing/python-cache.ts"

const SHA = "a".repeat(40)
const OLD = "b".repeat(40)
const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff)
const text = (s: string) => new TextEncoder().encode(s)

const modelFiles: Record<string, FakeFile> = {
  "config.json": { bytes: text('{"model_type":"bert"}') },
  "tokenizer.json": { bytes: text('{"version":"1.0"}') },
  "model.safetensors": { bytes: bytes(300_000, 1), lfs: true },
  "pytorch_model.bin": { bytes: bytes(300_000, 2), lfs: true },
  "onnx/model.onnx": { bytes: bytes(200_000, 3), lfs: true },
}
const want: WantedFiles[] = [
  { what: "config", oneOf: [["config.json"]] },
  { what: "tokenizer", oneOf: [["tokenizer.json"]] },
  { what: "weights", oneOf: [["model.safetensors"], ["pytorch_model.bin"]] },
]
const repo = hubRepo("org/tiny")

const dirs: string[] = []
const hubs: FakeHub[] = []
afterEach(async () => {
  for (const h of hubs.splice(0)) await h.close()
  cleanup(...dirs.splice(0))
})

const setup = async (extra: { gated?: boolean; private?: boolean } = {}) => {
  const hub = await startFakeHub([{ type: "model", id: "org/tiny", commits: { [SHA]: modelFiles, [OLD]: { "config.json": modelFiles["config.json"]! } }, refs: { main: SHA, v1: OLD }, ...extra }])
  hubs.push(hub)
  const cacheDir = tempDir()
  dirs.push(cacheDir)
  const settings = hubSettingsFromEnv({ HF_ENDPOINT: hub.url, HF_HUB_CACHE: cacheDir, HF_HOME: join(cacheDir, "home") }, { timeoutMs: 2_000, attempts: 3 })
  return { hub, cacheDir, settings, root: join(cacheDir, "models--org--tiny") }
}

const run = (request: SnapshotRequest, settings: HubSettings, onProgress?: (path: string, done: number, total: number) => void) =>
  Effect.runPromiseExit(fetchSnapshot(request, settings, onProgress !== undefined ? { onProgress } : {}))

const failure = (exit: Exit.Exit<unknown, HubError>): HubError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (error === undefined) throw new Error(`expected a HubError, got ${String(exit.cause)}`)
  return (error as unknown as { error: HubError }).error
}

const ok = <A>(exit: Exit.Exit<A, HubError>): A => {
  if (Exit.isFailure(exit)) throw failure(exit)
  return exit.value
}

const expectBytes = (path: string, expected: Uint8Array) => expect(sha256Hex(readFileSync(path))).toBe(sha256Hex(expected))

const downloads = (hub: FakeHub) => hub.requests.filter((r) => r.url.includes("/resolve/") || r.url.startsWith("/storage/"))

describe("fetchSnapshot from the Hub", () => {
  test("downloads only the wanted files at the resolved commit and lays them out as huggingface_hub does", async () => {
    const { hub, settings, root } = await setup()
    const progress = new Map<string, number>()
    const snap = ok(await run({ repo, want }, settings, (path, done, total) => progress.set(path, done / total)))
    expect(snap.commit).toBe(SHA)
    expect([...snap.files.keys()]).toEqual(["config.json", "model.safetensors", "tokenizer.json"])
    expect(snap.downloaded.slice().sort()).toEqual(["config.json", "model.safetensors", "tokenizer.json"])
    expect(progress.get("model.safetensors")).toBe(1)
    // Never the duplicates, and every download at the commit sha, not at "main".
    expect(hub.requests.some((r) => r.url.includes("onnx") || r.url.includes("pytorch_model"))).toBe(false)
    expect(hub.requests.filter((r) => r.url.includes("/resolve/")).every((r) => r.url.includes(`/resolve/${SHA}/`))).toBe(true)
    // The listing came in pages (Link: rel="next") and was read whole.
    expect(hub.requests.filter((r) => r.url.includes("/tree/")).length).toBe(3)
    expect(readFileSync(join(root, "refs", "main"), "utf8")).toBe(SHA)
    const link = join(root, "snapshots", SHA, "model.safetensors")
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    expect(readlinkSync(link)).toBe(`../../blobs/${sha256Hex(modelFiles["model.safetensors"]!.bytes)}`)
    expect(readlinkSync(join(root, "snapshots", SHA, "config.json"))).toBe(`../../blobs/${gitOid(modelFiles["config.json"]!.bytes)}`)
    expectBytes(link, modelFiles["model.safetensors"]!.bytes)
    expect(readdirSync(join(root, "blobs")).some((f) => f.endsWith(".incomplete"))).toBe(false)
  })

  test("a second fetch reuses the cache: a moving ref costs one lookup, a pinned commit none", async () => {
    const { hub, settings } = await setup()
    ok(await run({ repo, want }, settings))
    hub.requests.length = 0
    const again = ok(await run({ repo, want }, settings))
    expect(again.downloaded).toEqual([])
    expect(downloads(hub)).toEqual([])
    hub.requests.length = 0
    ok(await run({ repo, revision: SHA, want }, settings))
    expect(hub.requests).toEqual([])
  })

  test("kiln's own downloads are readable offline through refs/main, as Python's huggingface_hub reads them", async () => {
    const { hub, settings } = await setup()
    ok(await run({ repo, want }, settings))
    hub.requests.length = 0
    const snap = ok(await run({ repo, want }, { ...settings, offline: true }))
    expect(snap.commit).toBe(SHA)
    expect(hub.requests).toEqual([])
  })

  test("a reply cut off halfway is resumed with a Range request and verified", async () => {
    const big: Record<string, FakeFile> = { ...modelFiles, "model.safetensors": { bytes: bytes(4_000_000, 5), lfs: true } }
    const hub = await startFakeHub([{ type: "model", id: "org/tiny", commits: { [SHA]: big }, refs: { main: SHA } }])
    hubs.push(hub)
    const { settings, root } = await setup()
    hub.faults.cutOnce.set("model.safetensors", 2_000_000)
    const snap = ok(await run({ repo, want }, { ...settings, endpoint: hub.url }))
    const ranges = hub.requests.filter((r) => r.url.startsWith("/storage/")).map((r) => r.range ?? "")
    const resumedFrom = ranges.map((r) => /^bytes=(\d+)-3999999$/.exec(r)?.[1]).filter((n) => n !== undefined).map(Number)
    expect(resumedFrom.length).toBe(1)
    expect(resumedFrom[0]!).toBeGreaterThan(0)
    expect(resumedFrom[0]!).toBeLessThanOrEqual(2_000_000)
    expectBytes(snap.files.get("model.safetensors")!, big["model.safetensors"]!.bytes)
    expect(readdirSync(join(root, "blobs")).some((f) => f.endsWith(".incomplete"))).toBe(false)
  })

  test("a reply that stops sending mid-file times out and is resumed with a Range request", async () => {
    const big: Record<string, FakeFile> = { ...modelFiles, "model.safetensors": { bytes: bytes(4_000_000, 6), lfs: true } }
    const hub = await startFakeHub([{ type: "model", id: "org/tiny", commits: { [SHA]: big }, refs: { main: SHA } }])
    hubs.push(hub)
    const { settings, root } = await setup()
    hub.faults.stallOnce.set("model.safetensors", 1_500_000)
    const snap = ok(await run({ repo, want }, { ...settings, endpoint: hub.url, timeoutMs: 1_000 }))
    const ranges = hub.requests.filter((r) => r.url.startsWith("/storage/")).map((r) => r.range ?? "")
    const resumedFrom = ranges.map((r) => /^bytes=(\d+)-3999999$/.exec(r)?.[1]).filter((n) => n !== undefined).map(Number)
    expect(resumedFrom.length).toBe(1)
    expect(resumedFrom[0]!).toBeGreaterThan(0)
    expect(resumedFrom[0]!).toBeLessThanOrEqual(1_500_000)
    expectBytes(snap.files.get("model.safetensors")!, big["model.safetensors"]!.bytes)
    expect(readdirSync(join(root, "blobs")).some((f) => f.endsWith(".incomplete"))).toBe(false)
  }, 30_000)

  test("a reply that stops sending fails as a timeout when no attempt is left, and keeps the partial file to resume", async () => {
    const big: Record<string, FakeFile> = { ...modelFiles, "model.safetensors": { bytes: bytes(4_000_000, 7), lfs: true } }
    const hub = await startFakeHub([{ type: "model", id: "org/tiny", commits: { [SHA]: big }, refs: { main: SHA } }])
    hubs.push(hub)
    const { settings, root } = await setup()
    hub.faults.stallOnce.set("model.safetensors", 1_500_000)
    const error = failure(await run({ repo, want }, { ...settings, endpoint: hub.url, timeoutMs: 1_000, attempts: 1 }))
    expect(error.reason).toBe("timeout")
    expect(error.path).toBe("model.safetensors")
    const blob = join(root, "blobs", sha256Hex(big["model.safetensors"]!.bytes))
    expect(existsSync(blob)).toBe(false)
    expect(existsSync(`${blob}.incomplete`)).toBe(true)
    expect(existsSync(join(root, "snapshots", SHA, "model.safetensors"))).toBe(false)
  }, 30_000)

  test("a partial download left by an interrupted run is resumed from where it stopped", async () => {
    const { hub, settings, root } = await setup()
    const etag = sha256Hex(modelFiles["model.safetensors"]!.bytes)
    mkdirSync(join(root, "blobs"), { recursive: true })
    writeFileSync(join(root, "blobs", `${etag}.incomplete`), modelFiles["model.safetensors"]!.bytes.subarray(0, 123_456))
    ok(await run({ repo, want }, settings))
    expect(hub.requests.filter((r) => r.url.startsWith("/storage/")).map((r) => r.range)).toContain("bytes=123456-299999")
    expectBytes(join(root, "blobs", etag), modelFiles["model.safetensors"]!.bytes)
  })

  test("bytes that do not match the listed sha256 are rejected and nothing is cached", async () => {
    const { hub, settings, root } = await setup()
    hub.faults.corrupt.add("model.safetensors")
    const error = failure(await run({ repo, want }, settings))
    expect(error.reason).toBe("integrity")
    expect(error.message).toContain("model.safetensors")
    expect(error.message).toContain(sha256Hex(modelFiles["model.safetensors"]!.bytes))
    const blobs = existsSync(join(root, "blobs")) ? readdirSync(join(root, "blobs")) : []
    expect(blobs.some((f) => f.startsWith(sha256Hex(modelFiles["model.safetensors"]!.bytes)))).toBe(false)
    expect(existsSync(join(root, "snapshots", SHA, "model.safetensors"))).toBe(false)
    expect(existsSync(join(root, "refs", "main"))).toBe(false)
  })

  test("a gated repo without a token says to set HF_TOKEN; with the token it downloads", async () => {
    const { hub, settings } = await setup({ gated: true })
    const error = failure(await run({ repo, want }, settings))
    expect(error.reason).toBe("unauthorized")
    expect(error.message).toContain("gated")
    expect(error.hint).toContain("HF_TOKEN")
    const snap = ok(await run({ repo, want }, { ...settings, token: hub.token }))
    expect(snap.files.size).toBe(3)
    expect(hub.requests.filter((r) => r.url.includes("/resolve/")).at(-1)?.authorized).toBe(true)
  })

  test("a wrong token for a gated repo says the account has no access", async () => {
    const { settings } = await setup({ gated: true })
    const error = failure(await run({ repo, want }, { ...settings, token: "hf_someoneelse" }))
    expect(error.reason).toBe("unauthorized")
    expect(error.hint).toContain("no access")
  })

  test("a private repo without a token, and a repo that does not exist, name the repo and HF_TOKEN", async () => {
    const { settings } = await setup({ private: true })
    const error = failure(await run({ repo, want }, settings))
    expect(error.message).toContain("org/tiny")
    expect(error.hint).toContain("HF_TOKEN")
    const missing = failure(await run({ repo: hubRepo("org/nothing"), want }, settings))
    expect(missing.message).toContain("no repo org/nothing")
  })

  test("a revision that does not exist is named", async () => {
    const { settings } = await setup()
    const error = failure(await run({ repo, revision: "v9", want }, settings))
    expect(error.reason).toBe("revision-not-found")
    expect(error.message).toContain('no revision "v9"')
  })

  test("a revision without a wanted file names what is missing and fetches nothing", async () => {
    const { hub, settings } = await setup()
    const error = failure(await run({ repo, revision: "v1", want }, settings))
    expect(error.reason).toBe("file-not-found")
    expect(error.message).toContain("tokenizer (tokenizer.json)")
    expect(error.message).toContain("weights (model.safetensors, or pytorch_model.bin)")
    expect(downloads(hub)).toEqual([])
  })

  test("offline without a cached copy says how to get one", async () => {
    const { hub, settings } = await setup()
    const error = failure(await run({ repo, want }, { ...settings, offline: true }))
    expect(error.reason).toBe("offline")
    expect(error.message).toContain("HF_HUB_OFFLINE")
    expect(error.hint).toContain("huggingface-cli download org/tiny")
    expect(hub.requests).toEqual([])
  })

  test("a server that never answers times out with a message", async () => {
    const { hub, settings } = await setup()
    hub.faults.hang = true
    const started = Date.now()
    const error = failure(await run({ repo, want }, { ...settings, timeoutMs: 300, attempts: 1 }))
    expect(error.reason).toBe("timeout")
    expect(error.message).toContain("did not answer within")
    expect(Date.now() - started).toBeLessThan(10_000)
  })
})

describe("fetchSnapshot from a Python huggingface_hub cache", () => {
  test("a folder laid out by huggingface_hub is found without any download", async () => {
    const { hub, settings, cacheDir } = await setup()
    writePythonCache(cacheDir, { type: "model", id: "org/tiny" }, SHA, modelFiles, { main: SHA })
    const pinned = ok(await run({ repo, revision: SHA, want }, settings))
    expect(pinned.downloaded).toEqual([])
    expect(hub.requests).toEqual([])
    const offline = ok(await run({ repo, want }, { ...settings, offline: true }))
    expectBytes(offline.files.get("model.safetensors")!, modelFiles["model.safetensors"]!.bytes)
    const online = ok(await run({ repo, want }, settings))
    expect(online.downloaded).toEqual([])
    expect(downloads(hub)).toEqual([])
  })

  test("a snapshot symlink that leaves blobs/ is refused, naming it", async () => {
    const { settings, cacheDir, root } = await setup()
    writePythonCache(cacheDir, { type: "model", id: "org/tiny" }, SHA, { "config.json": modelFiles["config.json"]!, "tokenizer.json": modelFiles["tokenizer.json"]! })
    writeFileSync(join(cacheDir, "secret"), "x")
    symlinkSync(join(cacheDir, "secret"), join(root, "snapshots", SHA, "model.safetensors"))
    const error = failure(await run({ repo, revision: SHA, want }, settings))
    expect(error.reason).toBe("cache-layout")
    expect(error.message).toContain("outside")
  })
})

describe("hubSettingsFromEnv", () => {
  test("reads the variables huggingface_hub reads, in its order", () => {
    const s = hubSettingsFromEnv({ HF_HOME: "/h", HF_ENDPOINT: "http://mirror/", HF_HUB_OFFLINE: "1" })
    expect(s).toMatchObject({ endpoint: "http://mirror", offline: true, cacheDir: "/h/hub", token: undefined })
    expect(hubSettingsFromEnv({ HF_HUB_CACHE: "/c", HF_HOME: "/h", HF_TOKEN: "hf_x", HF_HUB_OFFLINE: "0" })).toMatchObject({ cacheDir: "/c", token: "hf_x", offline: false, endpoint: "https://huggingface.co" })
  })
})
