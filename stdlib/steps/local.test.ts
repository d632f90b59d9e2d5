// The local chain as steps: the quickstart pipeline end to end, and the accuracy gate failing
// when a candidate drifts from its reference.
import { afterEach, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { cleanup, runCaptured, tempDir } from "../../tests/support.ts"
import { quickstart } from "../../examples/quickstart.ts"
import { pipeline } from "../../src/engine/index.ts"
import { deploy, evaluateRerank, exportOnnx, fidelity, synthCheckpoint, synthRerank, synthSts } from "../index.ts"

const dirs: string[] = []
afterEach(() => cleanup(...dirs.splice(0)))

describe("local chain", () => {
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

  test("the fidelity gate fails naming the metric, its value and the budget", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const model = (seed: number) => deploy({}).to(exportOnnx({ task: "embedding" }).to(synthCheckpoint({ arch: "bert", size: "tiny", seed })))
    const pairs = synthSts({ pairs: 32 })
    const p = pipeline("gate", model(1)).then(fidelity({ min: { cosine_mean: 0.9999 } }, { reference: model(2), dataset: pairs }))
    const r = await runCaptured(p, dir)
    expect(r.code).toBe(1)
    const error = r.json.steps.find((s) => s.id === "fidelity")!.error!.message
    expect(error).toContain("accuracy gate failed")
    expect(error).toMatch(/cosine_mean = 0\.\d+ is below the floor min\.cosine_mean = 0\.9999/)
  }, 120_000)

  test("evaluateRerank ranks passages by cosine for an embedder and writes MAP and MRR@10", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const model = deploy({}).to(exportOnnx({ task: "embedding" }).to(synthCheckpoint({ arch: "bert", size: "tiny", seed: 4 })))
    const r = await runCaptured(pipeline("rerank", model).then(evaluateRerank({}, { dataset: synthRerank({ queries: 8 }) })), dir)
    expect(r.code).toBe(0)
    const report = JSON.parse(readFileSync(join(r.json.steps.find((s) => s.id === "evaluateRerank")!.outputs.out!.path, "eval.json"), "utf8"))
    expect(report.kind).toBe("reranking")
    expect(report.metrics.queries).toBe(8)
    for (const m of ["map", "mrr_at_10"]) expect(report.metrics[m]).toBeGreaterThan(0)
    for (const m of ["map", "mrr_at_10"]) expect(report.metrics[m]).toBeLessThanOrEqual(1)
  }, 120_000)
})
