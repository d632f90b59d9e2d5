// The exported graph is in the shape ONNX Runtime 1.30 fuses on CPU: after optimisation at level
// "all" every layer is one Attention, two SkipLayerNormalization and one BiasGelu, and no Softmax
// or Erf is left over. The plain-ONNX attention form uses the default domain only.
import { afterAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { optimizeWithOrt, opTypeCounts, readModel } from "../onnx/index.ts"
import { exportEncoder } from "./export-encoder.ts"
import { scratch, tinyCheckpoint } from "./test-support.ts"

const { dir, cleanup } = scratch("fusion")
afterAll(cleanup)

const layers = 2 // the tiny synthetic size

describe.each(["bert", "xlm-roberta"] as readonly string[])("%s", (arch) => {
  test("fuses to Attention, SkipLayerNormalization and BiasGelu with no Softmax left", async () => {
    const ckpt = await tinyCheckpoint(dir, arch, "embedding")
    const result = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, `${arch}-out`), task: "embedding" })
    const before = opTypeCounts(await readModel(result.modelPath))
    expect(before["com.microsoft:Attention"]).toBe(layers)
    expect(before.Softmax).toBeUndefined()

    const optimized = await optimizeWithOrt(result.modelPath, join(dir, `${arch}-opt.onnx`), { level: "all", intraOpNumThreads: 1 })
    const counts = optimized.opTypeCounts
    expect(counts["com.microsoft:Attention"]).toBe(layers)
    expect(counts["com.microsoft:BiasGelu"]).toBe(layers)
    // Two per layer; the embedding block's final Add + LayerNorm may fuse as well.
    expect(counts["com.microsoft:SkipLayerNormalization"]).toBeGreaterThanOrEqual(2 * layers)
    expect((counts["com.microsoft:SkipLayerNormalization"] ?? 0) + (counts.LayerNormalization ?? 0)).toBe(2 * layers + 1)
    expect(counts.Softmax).toBeUndefined()
    expect(counts.Erf).toBeUndefined()
  }, 30_000)
})

test('attention "onnx" emits default-domain ops only (for compilers without Microsoft ops)', async () => {
  const ckpt = await tinyCheckpoint(dir, "xlm-roberta", "m3")
  const result = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "plain"), task: "m3", attention: "onnx", seqlen: 8, int32Inputs: true })
  const model = await readModel(result.modelPath)
  const counts = opTypeCounts(model)
  expect(Object.keys(counts).filter((op) => op.includes(":"))).toEqual([])
  expect(counts.Softmax).toBe(layers)
  // Only the opsets nodes use are declared: a compiler without Microsoft ops reads no com.microsoft import.
  expect(model.opsetImports.map((o) => o.domain)).toEqual([""])
}, 30_000)

test('attention "contrib" declares the com.microsoft opset its Attention nodes use', async () => {
  const ckpt = await tinyCheckpoint(dir, "bert", "embedding")
  const result = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "contrib"), task: "embedding" })
  expect((await readModel(result.modelPath)).opsetImports.map((o) => o.domain)).toEqual(["", "com.microsoft"])
}, 30_000)
