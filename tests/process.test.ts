// The run CLI as a real process: SIGINT, kill -9 mid-step, two runners at once, --json, --graph.
import { afterEach, describe, expect, test } from "bun:test"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { counterLines, spawnRun, waitFor, writeSlowPipeline } from "./slow-pipeline.ts"
import { cleanup, tempDir } from "./support.ts"

const repo = resolve(import.meta.dir, "..")
const dirs: string[] = []
const writePipeline = (dir: string, ms: number): string => writeSlowPipeline(dirs, ms)
afterEach(() => cleanup(...dirs.splice(0)))

describe("run CLI process", () => {
  test("--json prints one JSON object as the last line of stdout", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const file = writePipeline(dir, 50)
    const proc = spawnRun(file, dir, ["--json"])
    const stdout = await new Response(proc.stdout).text()
    expect(await proc.exited).toBe(0)
    const summary = JSON.parse(stdout.trimEnd().split("\n").pop()!)
    expect(summary.pipeline).toBe("slow")
    expect(summary.ok).toBe(true)
    expect(summary.steps.map((s: { id: string; status: string }) => `${s.id}:${s.status}`)).toEqual(["slow:ran", "wrap:ran"])
    expect(readFileSync(join(summary.steps[1].outputs.out.path, "out.txt"), "utf8")).toBe("[a]")
    expect(existsSync(file.replace(/\.ts$/, ".lock.json"))).toBe(true)
  }, 60_000)

  test("--graph prints Mermaid and --help the usage, running nothing", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const file = writePipeline(dir, 50)
    const graph = spawnRun(file, dir, ["--graph"])
    expect(await new Response(graph.stdout).text()).toContain("flowchart LR")
    const help = spawnRun(file, dir, ["--help"])
    expect(await new Response(help.stdout).text()).toContain("--dry-run")
    const bad = spawnRun(file, dir, ["--jobs", "zero"])
    expect(await bad.exited).toBe(2)
    expect(await new Response(bad.stderr).text()).toContain("--jobs zero: expected a positive integer")
    expect(counterLines(dir)).toEqual([])
  }, 60_000)

  test("SIGINT interrupts the step, removes its temp dir, exits 130 and caches nothing", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const file = writePipeline(dir, 20_000)
    const proc = spawnRun(file, dir)
    await waitFor(() => counterLines(dir).includes("slow start"))
    await waitFor(() => readdirSync(join(dir, "cache", "tmp")).length > 0)
    proc.kill("SIGINT")
    expect(await proc.exited).toBe(130)
    expect(readdirSync(join(dir, "cache", "tmp"))).toEqual([])
    expect(existsSync(join(dir, "cache", "ac.v1"))).toBe(false)
  }, 60_000)

  test("kill -9 mid-step, then a re-run succeeds with no corrupt entry", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const file = writePipeline(dir, 3_000)
    const proc = spawnRun(file, dir)
    await waitFor(() => counterLines(dir).includes("slow start"))
    proc.kill("SIGKILL")
    await proc.exited
    const rerun = spawnRun(file, dir, ["--json"])
    const out = await new Response(rerun.stdout).text()
    expect(await rerun.exited).toBe(0)
    expect(JSON.parse(out.trimEnd().split("\n").pop()!).ok).toBe(true)
    const verify = Bun.spawn(["bun", "run", join(repo, "src/cli/kiln.ts"), "cache", "verify", "--cache-dir", join(dir, "cache")], { stdout: "pipe" })
    expect(await new Response(verify.stdout).text()).toContain("0 corrupt")
    expect(await verify.exited).toBe(0)
  }, 60_000)

  test("two processes on one pipeline at once both succeed and each step runs once", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const file = writePipeline(dir, 1_500)
    const a = spawnRun(file, dir, ["--json"])
    const b = spawnRun(file, dir, ["--json"])
    const [outA, outB, errA, errB] = await Promise.all([new Response(a.stdout).text(), new Response(b.stdout).text(), new Response(a.stderr).text(), new Response(b.stderr).text()])
    if ((await a.exited) !== 0 || (await b.exited) !== 0) console.error(errA, errB)
    expect(await a.exited).toBe(0)
    expect(await b.exited).toBe(0)
    const [stepsA, stepsB] = [outA, outB].map((o) => JSON.parse(o.trimEnd().split("\n").pop()!).steps as { status: string }[])
    // Per step, exactly one process ran it and the other was served its entry.
    for (const i of [0, 1]) expect([stepsA![i]!.status, stepsB![i]!.status].sort()).toEqual(["cached", "ran"])
    expect(counterLines(dir).filter((l) => l.endsWith("start")).sort()).toEqual(["slow start", "wrap start"])
  }, 60_000)
})
