// A successful run whose lock file cannot be written (a read-only checkout, a vanished folder)
// ends with a warning naming the lock file — no stack trace — and `--json` still prints its summary.
import { afterEach, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { canMountTmpfs, mountTmpfs, type SmallFilesystem } from "../../tests/small-filesystem.ts"
import { cleanup, countingSteps, tempDir } from "../../tests/support.ts"
import { pipeline } from "../engine/index.ts"
import { executePipeline } from "./run-pipeline.ts"

const dirs: string[] = []
const mounts: SmallFilesystem[] = []
afterEach(() => {
  for (const m of mounts.splice(0)) m.unmount()
  cleanup(...dirs.splice(0))
})

const runAt = async (file: string, cacheDir: string) => {
  let stdout = ""
  let stderr = ""
  const s = countingSteps()
  const result = await executePipeline(pipeline("p", s.emit({ text: "a" })).then(s.upper({})), file, ["--json", "--cache-dir", cacheDir], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  })
  return { result, stdout, stderr, summary: JSON.parse(stdout.trimEnd().split("\n").pop()!) }
}

describe("lock file not writable", () => {
  test("its folder is gone: a warning names the lock file, the JSON summary is printed, the run succeeds", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const file = join(dir, "gone", "pipeline.ts")
    const r = await runAt(file, join(dir, "cache"))
    expect(r.result.exitCode).toBe(0)
    expect(r.stderr).toContain(`warning: cannot write the lock file ${join(dir, "gone", "pipeline.lock.json")}`)
    expect(r.stderr).not.toMatch(/^\s+at /m)
    expect(r.summary).toMatchObject({ pipeline: "p", ok: true })
    expect(r.summary.steps.map((s: { status: string }) => s.status)).toEqual(["ran", "ran"])
  })

  test.skipIf(!canMountTmpfs)("on a read-only filesystem: the warning names it and no temp file is left", async () => {
    const fs = mountTmpfs(256)!
    mounts.push(fs)
    mkdirSync(join(fs.dir, "pipelines"))
    fs.setReadOnly(true)
    const dir = tempDir()
    dirs.push(dir)
    const r = await runAt(join(fs.dir, "pipelines", "p.ts"), join(dir, "cache"))
    expect(r.result.exitCode).toBe(0)
    expect(r.stderr).toContain(`warning: cannot write the lock file ${join(fs.dir, "pipelines", "p.lock.json")}`)
    expect(r.stderr).toContain("read-only")
    expect(r.summary.ok).toBe(true)
    expect(readdirSync(join(fs.dir, "pipelines"))).toEqual([])
    expect(existsSync(join(fs.dir, "pipelines", "p.lock.json"))).toBe(false)
  })
})
