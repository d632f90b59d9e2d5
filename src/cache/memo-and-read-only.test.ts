// The stat memo is a pure optimisation: a corrupt database is discarded and rebuilt with a
// warning, never a failed run. A read-only cache (e.g. a CI cache mounted read-only; a real
// read-only tmpfs here, skipped visibly where it cannot be mounted) serves fully cached runs, and
// a step that would need to write fails saying the cache is read-only.
import { afterEach, describe, expect, test } from "bun:test"
import { Database } from "bun:sqlite"
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { canMountTmpfs, mountTmpfs, type SmallFilesystem } from "../../tests/small-filesystem.ts"
import { cleanup, countingSteps, runCaptured, tempDir } from "../../tests/support.ts"
import { local, pipeline } from "../engine/index.ts"
import { cacheLayout } from "./layout.ts"

const dirs: string[] = []
const mounts: SmallFilesystem[] = []
afterEach(() => {
  for (const m of mounts.splice(0)) m.unmount()
  cleanup(...dirs.splice(0))
})

describe("stat memo", () => {
  test("a corrupt stat-memo database is discarded and rebuilt with a warning; the run succeeds", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const s = countingSteps()
    mkdirSync(join(dir, "src"))
    writeFileSync(join(dir, "src", "text.txt"), "from a file")
    const p = pipeline("p", local("text", join(dir, "src"))).then(s.upper({}))
    const layout = cacheLayout(join(dir, "cache"))
    mkdirSync(layout.root, { recursive: true })
    writeFileSync(layout.memo, "this is not an sqlite database, just garbage bytes ".repeat(100))
    const r = await runCaptured(p, dir)
    expect(r.code).toBe(0)
    expect(r.stderr).toContain(`warning: the stat memo ${layout.memo} was unreadable`)
    expect(readFileSync(join(r.json.steps[1]!.outputs.out!.path, "text.txt"), "utf8")).toBe("FROM A FILE")
    // Rebuilt: a real database again, and the next run has no warning.
    new Database(layout.memo, { readonly: true }).close()
    const again = await runCaptured(p, dir)
    expect(again.code).toBe(0)
    expect(again.stderr).not.toContain("warning")
  })
})

describe.skipIf(!canMountTmpfs)("read-only cache (real read-only tmpfs)", () => {
  test("serves a fully cached run, and a step that must run fails saying the cache is read-only", async () => {
    const fs = mountTmpfs(8192)!
    mounts.push(fs)
    const dir = tempDir()
    dirs.push(dir)
    mkdirSync(join(dir, "src"))
    writeFileSync(join(dir, "src", "text.txt"), "from a file")
    const s = countingSteps()
    const p = (suffix: string) => pipeline("p", local("text", join(dir, "src"))).then(s.upper({ suffix }))
    const cache = join(fs.dir, "cache")
    const args = ["--cache-dir", cache]
    expect((await runCaptured(p(""), dir, args)).code).toBe(0)
    fs.setReadOnly(true)

    const cached = await runCaptured(p(""), dir, args)
    expect(cached.stderr).not.toContain("internal error")
    expect(cached.code).toBe(0)
    expect(cached.status).toEqual({ "source:src": "cached", upper: "cached" })
    expect(cached.stderr).toContain(`note: the cache ${cache} is read-only`)
    expect(readFileSync(join(cached.json.steps[1]!.outputs.out!.path, "text.txt"), "utf8")).toBe("FROM A FILE")

    const miss = await runCaptured(p("!"), dir, args)
    expect(miss.code).toBe(1)
    const error = miss.json.steps.find((x) => x.id === "upper")!.error!.message
    expect(error).toContain(`the cache ${cache} is read-only`)
    expect(error).toContain("needs to run")
    expect(miss.stderr).not.toMatch(/^\s+at /m)
  })
})
