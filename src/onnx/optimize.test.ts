// optimizeWithOrt: the fusions ORT 1.30 applies to MatMul+Add+Relu at each level, and its options.
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as ort from "onnxruntime-node"
import { OnnxOptimizeError } from "./errors.ts"
import { optimizeWithOrt } from "./optimize.ts"
import { readModel } from "./reader.ts"
import { buildMlp, scratchDir, seededFloats } from "./test-support.ts"
import { writeModel } from "./writer.ts"

const scratch = scratchDir("optimize")
afterAll(scratch.cleanup)

const fixture = buildMlp({ inFeatures: 16, outFeatures: 8 })
const source = join(scratch.dir, "src", "model.onnx")
const ready = writeModel(fixture.model, source, { externalData: "never" })

const run = async (path: string): Promise<Float32Array> => {
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 })
  try {
    const x = seededFloats(11, 2 * fixture.inFeatures)
    return (await session.run({ x: new ort.Tensor("float32", x, [2, fixture.inFeatures]) })).y!.data as Float32Array
  } finally {
    await session.release()
  }
}

// Observed with onnxruntime-node 1.30.0 on CPU for MatMul → Add(bias) → Relu.
describe("optimizeWithOrt", () => {
  test("level basic fuses MatMul+Add into Gemm", async () => {
    await ready
    const result = await optimizeWithOrt(source, join(scratch.dir, "basic", "model.onnx"), { level: "basic", intraOpNumThreads: 1 })
    expect(result.opTypeCounts).toEqual({ Gemm: 1, Relu: 1 })
    expect(result.dataFileName).toBeUndefined()
  })

  test("level all fuses Gemm+Relu into com.microsoft:FusedGemm and computes the same output", async () => {
    await ready
    const out = join(scratch.dir, "all", "model.onnx")
    const result = await optimizeWithOrt(source, out, { level: "all", intraOpNumThreads: 1 })
    expect(result.opTypeCounts).toEqual({ "com.microsoft:FusedGemm": 1 })
    const [a, b] = [await run(source), await run(out)]
    for (let i = 0; i < a.length; i++) expect(b[i]!).toBeCloseTo(a[i]!, 5)
  })

  test("disabledOptimizers reaches ORT: without MatMulAddFusion the ops stay apart", async () => {
    await ready
    const result = await optimizeWithOrt(source, join(scratch.dir, "disabled", "model.onnx"), {
      level: "all",
      intraOpNumThreads: 1,
      disabledOptimizers: ["MatMulAddFusion"],
    })
    expect(result.opTypeCounts).toEqual({ Add: 1, MatMul: 1, Relu: 1 })
  })

  test("externalDataThreshold saves initializers beside the output, and the result loads by path", async () => {
    await ready
    const out = join(scratch.dir, "external", "model.onnx")
    const result = await optimizeWithOrt(source, out, { level: "extended", intraOpNumThreads: 1, externalDataThreshold: 64 })
    expect(result.dataFileName).toBe("model.onnx_data")
    expect(existsSync(join(scratch.dir, "external", "model.onnx_data"))).toBe(true)
    const kinds = (await readModel(out)).graph.initializers.map((t) => t.data.kind)
    expect(kinds).toContain("external")
    const [a, b] = [await run(source), await run(out)]
    for (let i = 0; i < a.length; i++) expect(b[i]!).toBeCloseTo(a[i]!, 5)
  })

  test("a file ORT cannot load is an OnnxOptimizeError naming the input", async () => {
    const bad = join(scratch.dir, "bad.onnx")
    writeFileSync(bad, "not a model")
    const error = await optimizeWithOrt(bad, join(scratch.dir, "bad-out", "model.onnx"), { level: "basic" }).catch((e) => e)
    expect(error).toBeInstanceOf(OnnxOptimizeError)
    expect(error.message).toContain(bad)
  })
})
