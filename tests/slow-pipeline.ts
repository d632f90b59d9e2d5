// A pipeline file for process-level tests: its `slow` step sleeps while reporting progress and
// writing scratch files, and counts its starts in $KILN_TEST_COUNTER; `wrap` follows it. Written
// inside the repo (under .work/) so its imports resolve to the repo's node_modules.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"

const repo = resolve(import.meta.dir, "..")

/** Writes a pipeline file whose `slow` step sleeps while reporting progress and counts its starts. */
export const writeSlowPipeline = (dirs: string[], ms: number): string => {
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

export const spawnRun = (file: string, dir: string, args: string[] = []) =>
  Bun.spawn(["bun", "run", file, "--cache-dir", join(dir, "cache"), ...args], {
    env: { ...process.env, KILN_TEST_COUNTER: join(dir, "counter.txt") },
    stdout: "pipe",
    stderr: "pipe",
  })

export const counterLines = (dir: string): string[] => (existsSync(join(dir, "counter.txt")) ? readFileSync(join(dir, "counter.txt"), "utf8").trim().split("\n") : [])

export const waitFor = async (cond: () => boolean, timeoutMs = 15_000) => {
  const until = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > until) throw new Error("timed out waiting")
    await Bun.sleep(20)
  }
}
