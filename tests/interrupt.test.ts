// Ctrl-C while library code keeps running: a step whose promise ignores the abort and keeps
// writing into its output folder. The run stops at once (exit 130, the `interrupted:` line),
// nothing is cached, and no temp file survives the process — the abandoned writer's late files
// are swept on the way out; in-process, they are never committed and `cache gc` removes them.
import { afterEach, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { runKiln } from "../src/cli/kiln.ts"
import { executePipeline } from "../src/cli/run-pipeline.ts"
import { defineStep, pipeline } from "../src/engine/index.ts"
import { waitFor } from "./slow-pipeline.ts"
import { cleanup, tempDir } from "./support.ts"

const repo = resolve(import.meta.dir, "..")
const dirs: string[] = []
afterEach(() => cleanup(...dirs.splice(0)))

const tmpEntries = (cache: string): string[] => (existsSync(join(cache, "tmp")) ? (readdirSync(join(cache, "tmp"), { recursive: true }) as string[]) : [])

/** The step's body: writes a file every few ms for `ms`, ignoring any abort (like a library loop). */
const stubbornBody = `async () => {
      const until = Date.now() + ms
      for (let i = 0; Date.now() < until; i++) {
        await Bun.write(join(outDir, "part-" + (i % 50) + ".bin"), "x".repeat(4096))
        await Bun.sleep(2)
      }
      await Bun.write(join(outDir, "done.txt"), "done")
    }`

describe("interrupting a step whose library code ignores the abort", () => {
  test("a real SIGINT: exit 130, the interrupted line, no entry and no temp files left", async () => {
    const dir = tempDir()
    dirs.push(dir)
    mkdirSync(join(repo, ".work"), { recursive: true })
    const own = mkdtempSync(join(repo, ".work", "interrupt-test-"))
    dirs.push(own)
    const file = join(own, "stubborn.ts")
    writeFileSync(
      file,
      `import { join } from "node:path"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { main } from "${repo}/src/cli/index.ts"
import { defineStep, pipeline } from "${repo}/src/engine/index.ts"
const stubborn = defineStep({
  name: "stubborn", version: 1, params: z.object({ ms: z.number() }), inputs: {}, output: "blob",
  run: (ctx) => { const outDir = ctx.outDir; const ms = ctx.params.ms; return Effect.promise(${stubbornBody}) },
})
export default main(import.meta, pipeline("stubborn", stubborn({ ms: 20000 })))
`,
    )
    const cache = join(dir, "cache")
    const proc = Bun.spawn(["bun", "run", file, "--cache-dir", cache], { stdout: "pipe", stderr: "pipe" })
    const stderr = new Response(proc.stderr).text()
    await waitFor(() => tmpEntries(cache).some((e) => e.includes("part-")))
    proc.kill("SIGINT")
    expect(await proc.exited).toBe(130)
    expect(await stderr).toContain("interrupted:")
    expect(tmpEntries(cache)).toEqual([])
    expect(existsSync(join(cache, "ac.v1"))).toBe(false)
  }, 60_000)

  test("in-process: the abandoned writer's late files are never committed and cache gc removes them", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const cache = join(dir, "cache")
    const stubborn = defineStep({
      name: "stubborn",
      version: 1,
      params: z.object({ ms: z.number() }),
      inputs: {},
      output: "blob",
      run: (ctx) =>
        Effect.promise(async () => {
          const until = Date.now() + ctx.params.ms
          for (let i = 0; Date.now() < until; i++) {
            await Bun.write(join(ctx.outDir, `part-${i % 50}.bin`), "x".repeat(4096))
            await Bun.sleep(2)
          }
        }),
    })
    const controller = new AbortController()
    const quiet = { write: () => true }
    const run = executePipeline(pipeline("stubborn", stubborn({ ms: 1500 })), join(dir, "p.ts"), ["--cache-dir", cache], { signal: controller.signal, stdout: quiet, stderr: quiet })
    await waitFor(() => tmpEntries(cache).some((e) => e.includes("part-")))
    controller.abort()
    expect((await run).exitCode).toBe(130)
    // The writer is still going: its folder comes back. Let it finish.
    await Bun.sleep(1800)
    expect(existsSync(join(cache, "ac.v1"))).toBe(false)
    expect((await runKiln(["cache", "gc", "--cache-dir", cache], quiet)).valueOf()).toBe(0)
    expect(tmpEntries(cache)).toEqual([])
  }, 60_000)

})
