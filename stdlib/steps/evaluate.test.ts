// The evaluation steps on a synthetic deployment: evaluateRerank's MAP and MRR@10 for an embedder,
// and a deployment asked to run on a target it was not made for.
import { afterEach, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { cleanup, runCaptured, tempDir } from "../../tests/support.ts"
import { pipeline } from "../../src/engine/index.ts"
import { useStandIns } from "../../src/targets/testing/stand-in-env.ts"
import { deploy, embed, evaluateRerank, exportOnnx, synthCheckpoint, synthRerank, synthSts } from "../index.ts"

const dirs: string[] = []
afterEach(() => cleanup(...dirs.splice(0)))

describe("evaluate steps", () => {
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

describe("evaluate on the wrong target", () => {
  // The vacc stand-ins make the target's tools discoverable, so the step gets as far as its input.
  useStandIns()

  test("a CPU deployment embedded with target vacc fails naming the folder, with the target's hint", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const model = deploy({}).to(exportOnnx({ task: "embedding" }).to(synthCheckpoint({ arch: "bert", size: "tiny", seed: 4 })))
    const r = await runCaptured(pipeline("wrong-target", model).then(embed({ target: "vacc" }, { dataset: synthSts({ pairs: 8 }) })), dir)
    expect(r.code).toBe(1)
    const error = r.json.steps.find((s) => s.id === "embed")!.error! as { message: string; hint?: string }
    expect(error.message).toContain("was made for target cpu, but the step asks for vacc")
    expect(error.hint).toBe('set target: "cpu" or "auto"')
    expect(r.stderr).toContain('hint: set target: "cpu" or "auto"')
  }, 120_000)
})
