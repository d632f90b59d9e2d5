// `kiln cache gc` cleans what killed runs leave — their temp dirs, however young, and lock files
// nobody holds — and never touches what a live process is using: a running step's temp dir or a
// key lock another process holds (tested with real live processes).
import { afterEach, describe, expect, test } from "bun:test"
import { existsSync, readdirSync } from "node:fs"
import { join, resolve } from "node:path"
import * as Effect from "effect/Effect"
import { runKiln } from "../src/cli/kiln.ts"
import { acquireKeyLock } from "../src/cache/key-lock.ts"
import { counterLines, spawnRun, waitFor, writeSlowPipeline } from "./slow-pipeline.ts"
import { cleanup, tempDir } from "./support.ts"

const repo = resolve(import.meta.dir, "..")
const dirs: string[] = []
const children: { kill(signal?: number | NodeJS.Signals): void }[] = []
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL")
  cleanup(...dirs.splice(0))
})

const gc = async (cache: string) => {
  let out = ""
  const code = await runKiln(["cache", "gc", "--cache-dir", cache], { write: (t: string) => (out += t) })
  return { code, out }
}
/** Every file and folder under the cache's tmp dir, recursively. */
const tmpEntries = (cache: string): string[] => (existsSync(join(cache, "tmp")) ? (readdirSync(join(cache, "tmp"), { recursive: true }) as string[]) : [])

describe("cache gc and leftovers", () => {
  test("removes the temp dir of a step killed a moment ago, and keeps the one of a step still running", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const cache = join(dir, "cache")
    const file = writeSlowPipeline(dirs, 20_000)
    const killed = spawnRun(file, dir)
    await waitFor(() => counterLines(dir).includes("slow start") && tmpEntries(cache).some((e) => e.includes("scratch-")))
    killed.kill("SIGKILL")
    await killed.exited
    const dead = tmpEntries(cache)
    expect(dead.length).toBeGreaterThan(0)

    // A second runner of the same pipeline, alive while gc runs.
    const live = spawnRun(file, dir)
    children.push(live)
    await waitFor(() => counterLines(dir).filter((l) => l === "slow start").length === 2)
    await waitFor(() => tmpEntries(cache).some((e) => e.includes("scratch-") && !dead.includes(e)))
    const alive = tmpEntries(cache).filter((e) => !dead.includes(e))

    expect((await gc(cache)).code).toBe(0)
    const after = tmpEntries(cache)
    for (const e of dead) if (!alive.includes(e)) expect(after).not.toContain(e)
    for (const e of alive.filter((e) => e.includes("scratch-"))) expect(after).toContain(e)
  }, 60_000)

  test("removes lock files nobody holds and keeps one a live process holds, which stays exclusive", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const cache = join(dir, "cache")
    const locks = join(cache, "locks")
    const free = "a".repeat(64)
    const held = "b".repeat(64)
    // A lock file left by a finished (or killed) holder.
    await Effect.runPromise(Effect.scoped(acquireKeyLock(locks, free)))
    const holder = Bun.spawn(["bun", "run", join(repo, "src/cache/testing/hold-key-lock.ts"), locks, held], { stdout: "pipe" })
    children.push(holder)
    const reader = holder.stdout.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("held")
    expect(readdirSync(locks).sort()).toEqual([`${free}.lock`, `${held}.lock`])

    expect((await gc(cache)).code).toBe(0)
    expect(readdirSync(locks)).toEqual([`${held}.lock`])
    // Still held: taking it here has to wait until the holder dies.
    let got = false
    const taker = Effect.runPromise(Effect.scoped(Effect.map(acquireKeyLock(locks, held), () => void (got = true))))
    await Bun.sleep(300)
    expect(got).toBe(false)
    holder.kill("SIGKILL")
    await taker
    expect(got).toBe(true)
  }, 60_000)
})
