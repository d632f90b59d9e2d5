// The fidelity step: its accuracy gate fails when a candidate drifts from its reference, naming
// the metric, its value and the budget; and it reads both deployments' embeddings, so its figures
// equal the old computation that ran both deployments again.
import { afterEach, describe, expect, test } from "bun:test"
import { cleanup, runCaptured, tempDir } from "../../tests/support.ts"
import { pipeline } from "../../src/engine/index.ts"
import { deploy, embed, exportOnnx, fidelity, synthCheckpoint, synthSts } from "../index.ts"

const dirs: string[] = []
afterEach(() => cleanup(...dirs.splice(0)))

describe("fidelity step", () => {
  test("the fidelity gate fails naming the metric, its value and the budget", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const pairs = synthSts({ pairs: 32 })
    const model = (seed: number) => embed({}, { dataset: pairs }).as(`embed-${seed}`).to(deploy({}).as(`deploy-${seed}`).to(exportOnnx({ task: "embedding" }).as(`export-${seed}`).to(synthCheckpoint({ arch: "bert", size: "tiny", seed }).as(`ckpt-${seed}`))))
    const p = pipeline("gate", model(1)).then(fidelity({ min: { cosine_mean: 0.9999 } }, { reference: model(2), dataset: pairs }))
    const r = await runCaptured(p, dir)
    expect(r.code).toBe(1)
    const error = r.json.steps.find((s) => s.id === "fidelity")!.error!.message
    expect(error).toContain("accuracy gate failed")
    expect(error).toMatch(/cosine_mean = 0\.\d+ is below the floor min\.cosine_mean = 0\.9999/)
  }, 120_000)
})
