// The quickstart pipeline end to end: export → compile → deploy → evaluate, fidelity and bench,
// and a second run served entirely from the cache.
import { afterEach, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { cleanup, runCaptured, tempDir } from "../tests/support.ts"
import { quickstart } from "./quickstart.ts"

const dirs: string[] = []
afterEach(() => cleanup(...dirs.splice(0)))

describe("quickstart", () => {
  test("quickstart: export → compile → deploy → evaluate, fidelity, bench", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const r = await runCaptured(quickstart, dir, ["--set", "bench.seconds=0.2", "--set", "bench-int8.seconds=0.2"])
    expect(r.code).toBe(0)
    const out = (id: string, file: string) => JSON.parse(readFileSync(join(r.json.steps.find((s) => s.id === id)!.outputs.out!.path, file), "utf8"))
    expect(out("evaluate", "eval.json").metrics.pairs).toBe(256)
    expect(out("fidelity", "eval.json").fidelity.cosine_mean).toBeGreaterThan(0.9999)
    const benchReport = out("bench", "bench.json")
    expect(benchReport.configs.map((c: { batch: number }) => c.batch)).toEqual([1, 16])
    expect(readFileSync(join(r.json.steps.find((s) => s.id === "bench")!.outputs.out!.path, "vamp.txt"), "utf8")).toContain("throughput (qps):")
    const again = await runCaptured(quickstart, dir, ["--set", "bench.seconds=0.2", "--set", "bench-int8.seconds=0.2"])
    expect(Object.values(again.status).every((s) => s === "cached")).toBe(true)
  }, 120_000)
})
