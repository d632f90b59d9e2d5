// Failure modes of the cache, each named for what goes wrong: disk full during commit, a flipped
// byte in a blob, a racily-clean input file, drift from the lock file.
import { describe, expect, test } from "bun:test"
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as PlatformError from "effect/PlatformError"
import { countingSteps, freshDirsPerTest, runCaptured } from "../../tests/support.ts"
import { runKiln } from "../cli/kiln.ts"
import { pipeline } from "../engine/index.ts"
import { listActionKeys, listBlobs } from "./maintenance.ts"
import { cacheLayout } from "./layout.ts"
import { blobPath } from "./blobs.ts"
import { openStatMemo } from "./stat-memo.ts"

const fresh = freshDirsPerTest()

/**
 * The real filesystem, except that writes of the chosen kind fail with ENOSPC, shaped exactly as
 * @effect/platform-node reports it: an "Unknown" system error whose message does not say ENOSPC;
 * only its cause (Node's error) carries the code, errno and syscall.
 */
const diskFullWhen = (fails: (method: string, path: string) => boolean) =>
  Layer.effect(FileSystem.FileSystem)(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const enospc = (method: string, path: string) => {
        const cause = Object.assign(new Error(`ENOSPC: no space left on device, ${method === "rename" ? "rename" : "write"}`), { code: "ENOSPC", errno: -28, syscall: method === "rename" ? "rename" : "write", path })
        return Effect.fail(PlatformError.systemError({ _tag: "Unknown", module: "FileSystem", method, syscall: cause.syscall, pathOrDescriptor: path, cause }))
      }
      return FileSystem.make({
        ...fs,
        rename: (from, to) => (fails("rename", to) ? enospc("rename", to) : fs.rename(from, to)),
        writeFile: (path, data, options) => (fails("writeFile", path) ? enospc("writeFile", path) : fs.writeFile(path, data, options)),
      })
    }),
  ).pipe(Layer.provide(NodeFileSystem.layer))

describe("disk full during commit", () => {
  for (const [what, fails] of [
    ["storing a blob", (m: string, p: string) => m === "rename" && p.includes("cas.v1")],
    ["writing the action entry", (m: string, p: string) => m === "writeFile" && p.includes("ac.v1")],
  ] as const) {
    test(`fails clearly when ${what}, leaves no entry, and a later run succeeds`, async () => {
      const dir = fresh()
      const s = countingSteps()
      const p = pipeline("p", s.emit({ text: "payload" })).then(s.upper({}))
      const r = await runCaptured(p, dir, [], { fileSystem: diskFullWhen(fails) })
      expect(r.code).toBe(1)
      expect(r.stderr).toContain("no space left on device")
      expect(r.stderr).toContain("--cache-dir")
      const layout = cacheLayout(join(dir, "cache"))
      expect(listActionKeys(layout)).toEqual([])
      expect(readdirSync(layout.tmp)).toEqual([])
      const again = await runCaptured(p, dir)
      expect(again.code).toBe(0)
      expect(again.status).toEqual({ emit: "ran", upper: "ran" })
    })
  }
})

describe("corrupt blob", () => {
  const flipByte = (path: string) => {
    chmodSync(path, 0o644)
    const bytes = readFileSync(path)
    bytes[0] = bytes[0]! ^ 0xff
    writeFileSync(path, bytes)
  }
  const outputBlob = (dir: string, r: Awaited<ReturnType<typeof runCaptured>>, id: string) => {
    const layout = cacheLayout(join(dir, "cache"))
    const tree = JSON.parse(readFileSync(blobPath(layout, r.json.steps.find((x) => x.id === id)!.outputs.out!.digest), "utf8"))
    return blobPath(layout, tree.entries[0].digest)
  }

  test("cache verify quarantines it and drops the entries that use it", async () => {
    const dir = fresh()
    const s = countingSteps()
    const p = pipeline("p", s.emit({ text: "payload" })).then(s.upper({}))
    const first = await runCaptured(p, dir)
    flipByte(outputBlob(dir, first, "upper"))
    let out = ""
    const code = await runKiln(["cache", "verify", "--cache-dir", join(dir, "cache")], { write: (t: string) => (out += t) })
    expect(code).toBe(1)
    expect(out).toContain("1 corrupt")
    const layout = cacheLayout(join(dir, "cache"))
    expect(readdirSync(layout.quarantine)).toHaveLength(1)
    const again = await runCaptured(p, dir)
    expect(again.status).toEqual({ emit: "cached", upper: "ran" })
    expect(readFileSync(join(again.json.steps[1]!.outputs.out!.path, "text.txt"), "utf8")).toBe("PAYLOAD")
  })

  test("--verify re-hashes before serving a hit and re-runs instead", async () => {
    const dir = fresh()
    const s = countingSteps()
    const p = pipeline("p", s.emit({ text: "payload" })).then(s.upper({}))
    const first = await runCaptured(p, dir)
    flipByte(outputBlob(dir, first, "emit"))
    const unverified = await runCaptured(p, dir, ["--dry-run"])
    expect(unverified.status.emit).toBe("cached")
    const verified = await runCaptured(p, dir, ["--verify"])
    expect(verified.code).toBe(0)
    expect(verified.status.emit).toBe("ran")
    expect(readFileSync(join(verified.json.steps[0]!.outputs.out!.path, "text.txt"), "utf8")).toBe("payload")
    expect(readdirSync(cacheLayout(join(dir, "cache")).quarantine)).toHaveLength(1)
  })
})

describe("stat memo", () => {
  test("an unchanged old file is served from the memo; a racily-clean one is re-hashed", () => {
    const dir = fresh()
    const memo = openStatMemo(join(dir, "memo.sqlite"))
    const file = join(dir, "f.bin")
    writeFileSync(file, "aaaa")
    const first = memo.digestOf(file)
    expect(first.memoHit).toBe(false)
    // Written just now: within the racy window, so not trusted yet.
    expect(memo.digestOf(file).memoHit).toBe(false)
    // Same size, same second: only the content differs; the racy guard must catch it.
    writeFileSync(file, "bbbb")
    expect(memo.digestOf(file).digest).not.toBe(first.digest)
    // Backdate the file: now it is older than the window and the memo is trusted.
    const { utimesSync } = require("node:fs") as typeof import("node:fs")
    utimesSync(file, new Date(Date.now() - 10_000), new Date(Date.now() - 10_000))
    memo.digestOf(file)
    const hit = memo.digestOf(file)
    expect(hit.memoHit).toBe(true)
    memo.close()
  })
})

describe("lock file", () => {
  test("is stable across runs and --frozen fails naming the drifted node", async () => {
    const dir = fresh()
    const s = countingSteps()
    await runCaptured(pipeline("p", s.emit({ text: "a" })).then(s.upper({})), dir)
    const lock = readFileSync(join(dir, "pipeline.lock.json"), "utf8")
    expect(lock).not.toMatch(/"(at|time|date|created)"/)
    await runCaptured(pipeline("p", s.emit({ text: "a" })).then(s.upper({})), dir)
    expect(readFileSync(join(dir, "pipeline.lock.json"), "utf8")).toBe(lock)
    const same = await runCaptured(pipeline("p", s.emit({ text: "a" })).then(s.upper({})), dir, ["--frozen"])
    expect(same.code).toBe(0)
    const drift = await runCaptured(pipeline("p", s.emit({ text: "a" })).then(s.upper({ suffix: "!" })), dir, ["--frozen"])
    expect(drift.code).toBe(1)
    expect(drift.stderr).toContain('node "upper" drifted')
    expect(drift.stderr).toContain('param suffix: "" → "!"')
    expect(readFileSync(join(dir, "pipeline.lock.json"), "utf8")).toBe(lock)
  })
})

describe("gc", () => {
  test("keeps what a lock file references and removes the rest", async () => {
    const dir = fresh()
    const s = countingSteps()
    await runCaptured(pipeline("p", s.emit({ text: "old" })), dir)
    await runCaptured(pipeline("p", s.emit({ text: "new" })), dir)
    const layout = cacheLayout(join(dir, "cache"))
    expect(listActionKeys(layout)).toHaveLength(2)
    // With days=0 only the lock file protects entries: the "old" run's entry goes.
    mkdirSync(layout.runs, { recursive: true })
    let out = ""
    expect(await runKiln(["cache", "gc", "--days", "0", "--cache-dir", layout.root], { write: (t: string) => (out += t) })).toBe(0)
    expect(out).toContain("kept 1 entries, removed 1 entries")
    expect(listActionKeys(layout)).toHaveLength(1)
    const again = await runCaptured(pipeline("p", s.emit({ text: "new" })), dir)
    expect(again.status.emit).toBe("cached")
    expect(listBlobs(layout).every((d) => existsSync(blobPath(layout, d)))).toBe(true)
  })
})
