// The run CLI as a real process: SIGINT, kill -9 mid-step, two runners at once, --json, --graph.
import { afterEach, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { cleanup, tempDir } from "./support.ts"

const repo = resolve(import.meta.dir, "..")
const dirs: string[] = []
afterEach(() => cleanup(...dirs.splice(0)))

/** Writes a pipeline file whose `slow` step sleeps while reporting progress and counts its starts. */
const writePipeline = (dir: string, ms: number): string => {
  // Inside the repo, so the file's imports resolve to the repo's node_modules.
  mkdirSync(join(repo, ".work"), { recursive: true })
  const own = mkdtempSync(join(repo, ".work", "process-test-"))
  dirs.push(own)
  const file = join(own, "slow.ts")
  writeFileSync(
    file,
    `import { join } from "node:path"
import { appendFileSync } from "node:fs"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { main } from "${repo}/src/cli/index.ts"
import { defineStep, pipeline } from "${repo}/src/engine/index.ts"
const counter = process.env.KILN_TEST_COUNTER!
const slow = defineStep({
  name: "slow", version: 1, params: z.object({ ms: z.number(), tag: z.string() }), inputs: {}, output: "blob",
  run: (ctx) => Effect.gen(function* () {
    appendFileSync(counter, ctx.nodeId + " start\\n")
    const steps = 20
    for (let i = 0; i < steps; i++) {
      yield* Effect.promise(() => Bun.write(join(ctx.tmpDir, "scratch-" + i), "x".repeat(1000)))
      yield* ctx.progress(i, steps)
      yield* Effect.sleep(ctx.params.ms / steps)
    }
    yield* Effect.promise(() => Bun.write(join(ctx.outDir, "out.txt"), ctx.params.tag))
    appendFileSync(counter, ctx.nodeId + " done\\n")
  }),
})
const wrap = defineStep({
  name: "wrap", version: 1, params: z.object({}), inputs: { blob: "blob" }, output: "blob",
  run: (ctx) => Effect.promise(async () => {
    appendFileSync(counter, ctx.nodeId + " start\\n")
    await Bun.write(join(ctx.outDir, "out.txt"), "[" + (await Bun.file(join(ctx.inputs.blob.path, "out.txt")).text()) + "]")
  }),
})
export default main(import.meta, pipeline("slow", slow({ ms: ${ms}, tag: "a" })).then(wrap()))
`,
  )
  return file
}

const spawnRun = (file: string, dir: string, args: string[] = []) =>
  Bun.spawn(["bun", "run", file, "--cache-dir", join(dir, "cache"), ...args], {
    env: { ...process.env, KILN_TEST_COUNTER: join(dir, "counter.txt") },
    stdout: "pipe",
    stderr: "pipe",
  })

const counterLines = (dir: string): string[] => (existsSync(join(dir, "counter.txt")) ? readFileSync(join(dir, "counter.txt"), "utf8").trim().split("\n") : [])

const waitFor = async (cond: () => boolean, timeoutMs = 15_000) => {
  const until = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > until) throw new Error("timed out waiting")
    await Bun.sleep(20)
  }
}

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
