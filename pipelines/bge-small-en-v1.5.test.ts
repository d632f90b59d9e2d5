// The bge-small-en-v1.5 pipeline: a clear message when its inputs are missing, and the whole chain
// on a tiny synthetic BERT checkpoint standing in for the real weights.
import { afterEach, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { cleanup, runCaptured, tempDir } from "../tests/support.ts"
import { takePipelineInputs } from "../src/cli/index.ts"
import { syntheticStsPairs } from "../src/datasets/index.ts"
import { synthesizeCheckpoint } from "../src/synth/index.ts"
import { bgeSmallEn, inputs } from "./bge-small-en-v1.5.ts"

const dirs: string[] = []
afterEach(() => cleanup(...dirs.splice(0)))

describe("bge-small-en-v1.5 pipeline", () => {
  test("missing inputs name the flag, the variable and what to supply", () => {
    expect(() => takePipelineInputs(inputs, ["--dry-run"], {})).toThrow(/missing --model-dir DIR or KILN_MODEL_DIR=…: the BAAI\/bge-small-en-v1.5 checkpoint folder[\s\S]*missing --sts FILE/)
    expect(() => takePipelineInputs(inputs, ["--model-dir", "/no/such/dir", "--sts", "/no/file"], {})).toThrow(/\/no\/such\/dir does not exist/)
  })

  test("runs end to end on a stand-in checkpoint, taking the model folder from KILN_MODEL_DIR", async () => {
    const dir = tempDir()
    dirs.push(dir)
    await synthesizeCheckpoint({ arch: "bert", size: "tiny", task: "embedding", seed: 3, out: join(dir, "model") })
    await Bun.write(join(dir, "sts.jsonl"), syntheticStsPairs(48, 2).map((p) => JSON.stringify(p)).join("\n"))
    const { values, rest } = takePipelineInputs(inputs, ["--sts", join(dir, "sts.jsonl"), "--json"], { KILN_MODEL_DIR: join(dir, "model") })
    expect(rest).toEqual(["--json"])
    const r = await runCaptured(bgeSmallEn(values.modelDir, values.sts), dir, ["--set", "bench.seconds=0.2"])
    expect(r.code).toBe(0)
    expect(r.status).toMatchObject({ exportOnnx: "ran", compile: "ran", evaluate: "ran", fidelity: "ran", bench: "ran" })
  }, 120_000)
})
