// The basics example's steps on inputs far larger than its defaults: a million-line corpus must not
// overflow the stack (spreading a large array into Math.min / Math.max did).
import { afterEach, describe, expect, test } from "bun:test"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { cleanup, runCaptured, tempDir } from "../tests/support.ts"
import { local, pipeline } from "../src/engine/index.ts"
import { lineLengths } from "./basics.ts"

const dirs: string[] = []
afterEach(() => cleanup(...dirs.splice(0)))

describe("basics example", () => {
  test("lineLengths over a million-line corpus does not overflow the stack", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const corpusDir = join(dir, "corpus")
    mkdirSync(corpusDir)
    // Lengths 3, 4 and 5 in turn: min 3, max 5.
    const lines = Array.from({ length: 1_000_000 }, (_, i) => "x".repeat(3 + (i % 3)))
    writeFileSync(join(corpusDir, "corpus.txt"), lines.join("\n") + "\n")
    const r = await runCaptured(pipeline("big", local("text", corpusDir)).then(lineLengths({ buckets: 3 })), dir)
    expect(r.stderr).not.toContain("Maximum call stack")
    expect(r.code).toBe(0)
    const stats = JSON.parse(readFileSync(join(r.json.steps.find((s) => s.id === "lineLengths")!.outputs.out!.path, "stats.json"), "utf8"))
    expect(stats).toEqual({ min: 3, width: 1, histogram: [333_334, 333_333, 333_333] })
  }, 60_000)
})
