// The int8 pipelines on tiny synthetic stand-ins for bge-m3 and bge-reranker-v2-m3: the whole chain
// runs, the gate holds, and missing inputs are named.
import { afterEach, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { cleanup, runCaptured, tempDir } from "../tests/support.ts"
import { takePipelineInputs } from "../src/cli/index.ts"
import { syntheticRerankQueries, syntheticStsPairs } from "../src/datasets/index.ts"
import { synthesizeCheckpoint } from "../src/synth/index.ts"
import { bgeM3Int8, inputs as m3Inputs } from "./bge-m3-int8.ts"
import { bgeRerankerInt8, inputs as rerankerInputs } from "./bge-reranker-v2-m3-int8.ts"

const dirs: string[] = []
afterEach(() => cleanup(...dirs.splice(0)))
const fast = ["--set", "bench.seconds=0.2", "--set", "bench-fp32.seconds=0.2", "--set", "calibrate.samples=24"]

const fixtures = async (dir: string, task: "m3" | "reranker") => {
  await synthesizeCheckpoint({ arch: "xlm-roberta", size: "tiny", task, seed: 11, out: join(dir, "model") })
  await Bun.write(join(dir, "sts.jsonl"), syntheticStsPairs(40, 5).map((p) => JSON.stringify(p)).join("\n"))
  await Bun.write(join(dir, "rerank.jsonl"), syntheticRerankQueries(6, 5).map((q) => JSON.stringify({ query: q.query, pos: q.positives, neg: q.negatives })).join("\n"))
}

describe("int8 pipelines", () => {
  test("bge-m3-int8 names its missing inputs", () => {
    expect(() => takePipelineInputs(m3Inputs, [], {})).toThrow(/missing --model-dir DIR or KILN_MODEL_DIR=…: the BAAI\/bge-m3 checkpoint folder/)
    expect(() => takePipelineInputs(rerankerInputs, ["--model-dir", "/tmp"], {})).toThrow(/missing --rerank FILE/)
  })

  test("bge-m3-int8 runs end to end on a tiny m3 checkpoint", async () => {
    const dir = tempDir()
    dirs.push(dir)
    await fixtures(dir, "m3")
    // 40 synthetic pairs make Spearman noisy; the real pipeline's 0.005 budget is for real STS sets.
    const r = await runCaptured(bgeM3Int8(join(dir, "model"), join(dir, "sts.jsonl"), 32), dir, [...fast, "--set", 'fidelity.maxDrop={"cosine_spearman":0.05}'])
    if (r.code !== 0) console.error(r.stderr)
    expect(r.code).toBe(0)
    expect(r.status).toMatchObject({ quantize: "ran", compile: "ran", fidelity: "ran", bench: "ran", "bench-fp32": "ran" })
  }, 180_000)

  test("bge-reranker-v2-m3-int8 runs end to end on a tiny reranker checkpoint", async () => {
    const dir = tempDir()
    dirs.push(dir)
    await fixtures(dir, "reranker")
    // The search judges a handful of held-out samples; 40 pairs cannot hold a 0.995 Spearman floor reliably.
    const r = await runCaptured(bgeRerankerInt8(join(dir, "model"), join(dir, "sts.jsonl"), join(dir, "rerank.jsonl"), 32), dir, [...fast, "--set", 'fidelity.min={"score_spearman":0.98}'])
    if (r.code !== 0) console.error(r.stderr)
    expect(r.code).toBe(0)
    expect(r.status).toMatchObject({ quantize: "ran", evaluateRerank: "ran", fidelity: "ran", "evaluate-fp32": "ran" })
  }, 180_000)
})
