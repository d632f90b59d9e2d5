// Dynamic and static int8 on a BERT-shaped encoder with outlier channels: outputs stay close to
// fp32, ORT's optimised graph runs integer kernels, the scheme and float nodes are recorded,
// exclusions keep nodes float, and embeddings dequantize after the Gather.

import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readCalibrationSet, writeCalibrationSet, type CalibrationSample } from "../calibration/index.ts"
import { opKey, opTypeCounts, readModel, writeModel, type OnnxModel } from "../onnx/index.ts"
import { compareOutputs, judgedOutput, runOutput } from "./held-out-fidelity.ts"
import { verifyIntegerKernels } from "./integer-kernels.ts"
import { quantizeModel } from "./quantize-model.ts"
import { buildTestEncoder, testTokenRows } from "./test-encoder.ts"

const root = mkdtempSync(join(tmpdir(), "kiln-int8-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const encoder = buildTestEncoder({ outliers: true, layers: 3, hidden: 64 })
const source = join(root, "fp32", "onnx", "model.onnx")
const calibration = join(root, "calibration")
let heldOut: CalibrationSample[]
let reference: Float32Array[]

beforeAll(async () => {
  await writeModel(encoder.model, source)
  writeCalibrationSet(testTokenRows(24, encoder.vocab), calibration, { seqlen: 16, padId: 0 })
  heldOut = readCalibrationSet(calibration).samples.slice(18)
  reference = await runOutput(encoder.model, join(root, "ref", "model.onnx"), judgedOutput(encoder.model), heldOut)
})

const fidelityOf = async (path: string) => {
  const model = await readModel(path)
  return compareOutputs(reference, await runOutput(model, join(root, "eval", `${Math.random()}`.slice(2), "model.onnx"), "sentence_embedding", heldOut))
}

const counts = (model: OnnxModel) => opTypeCounts(model)

describe("dynamic int8", () => {
  test("stays close to fp32, records the scheme, and ORT fuses it into integer kernels", async () => {
    const out = join(root, "dynamic")
    const result = await quantizeModel(source, out, { scheme: "dynamic-int8" })
    expect(result.file).toBe("onnx/model_quantized.onnx")
    expect(result.record.scheme).toBe("dynamic-int8")
    expect(result.record.details).toMatchObject({ weights: "per-channel symmetric int8", form: "onnx", quantizedNodes: 3 * 3 + 3 })
    const c = counts(result.model)
    expect(c.MatMul).toBeUndefined()
    expect(c.MatMulInteger).toBe(9)
    expect(c["com.microsoft:QAttention"]).toBe(3)
    const fidelity = await fidelityOf(join(out, result.file))
    expect(fidelity.mean).toBeGreaterThan(0.995)
    const proof = await verifyIntegerKernels(join(out, result.file))
    expect(proof.integerKernels).toEqual({ "com.microsoft:DynamicQuantizeMatMul": 9, "com.microsoft:QAttention": 3 })
    expect(proof.dequantizedFloatMatMuls).toEqual([])
  }, 15_000)

  test('form "contrib" emits DynamicQuantizeMatMul with the bias folded in, and attention: "float" keeps Attention', async () => {
    const result = await quantizeModel(source, join(root, "contrib"), { scheme: "dynamic-int8", form: "contrib", attention: "float" })
    const c = counts(result.model)
    expect(c["com.microsoft:DynamicQuantizeMatMul"]).toBe(9)
    expect(c["com.microsoft:Attention"]).toBe(3)
    expect(c.Add).toBe(counts(encoder.model).Add! - 9)
    expect(result.record.details.floatNodes).toContainEqual({ node: "/encoder/layer.0/attention/self/Attention", opType: "com.microsoft:Attention", reason: 'attention: "float"' })
  }, 15_000)
})

describe("static int8 (QDQ)", () => {
  for (const method of ["max", "percentile", "entropy"] as const) {
    test(`${method} calibration: close to fp32, MatMulIntegerToFloat and QAttention after ORT optimisation`, async () => {
      const out = join(root, `static-${method}`)
      const result = await quantizeModel(source, out, { scheme: "static-int8", calibration, method, samples: 18 })
      expect(result.record.details.calibration).toMatchObject({ method, samples: 18, ignorePadding: true })
      const fidelity = await fidelityOf(join(out, result.file))
      expect(fidelity.mean).toBeGreaterThan(method === "entropy" ? 0.99 : 0.995)
      const proof = await verifyIntegerKernels(join(out, result.file))
      expect(proof.integerKernels).toEqual({ "com.microsoft:MatMulIntegerToFloat": 9, "com.microsoft:QAttention": 3 })
      expect(proof.dequantizedFloatMatMuls).toEqual([])
    }, 15_000)
  }

  test("only constant-weight MatMuls are quantized: LayerNorm, Gelu, residual adds and score MatMuls stay float", async () => {
    const unfused = buildTestEncoder({ outliers: true, layers: 2, attention: "unfused" })
    const path = join(root, "unfused", "onnx", "model.onnx")
    await writeModel(unfused.model, path)
    const result = await quantizeModel(path, join(root, "unfused-q"), { scheme: "static-int8", calibration, method: "max" })
    const nodes = result.model.graph.nodes
    const scores = nodes.filter((n) => n.name.includes("MatMul_scores") || n.name.includes("MatMul_context"))
    expect(scores.map((n) => n.opType)).toEqual(["MatMul", "MatMul", "MatMul", "MatMul"])
    const dq = new Set(nodes.filter((n) => n.opType === "DequantizeLinear").flatMap((n) => n.outputs))
    for (const n of nodes.filter((n) => ["LayerNormalization", "Softmax", "Gelu"].includes(n.opType))) expect(n.inputs.some((i) => dq.has(i))).toBe(false)
    expect(nodes.filter((n) => n.opType === "MatMul" && n.inputs.some((i) => dq.has(i)))).toHaveLength(12)
    const proof = await verifyIntegerKernels(join(root, "unfused-q", result.file))
    expect(proof.integerKernels).toEqual({ "com.microsoft:MatMulIntegerToFloat": 12 })
  }, 15_000)

  test("excluded nodes stay float and are recorded with the reason", async () => {
    const result = await quantizeModel(source, join(root, "excluded"), {
      scheme: "static-int8",
      calibration,
      exclude: { layers: [1], nodes: ["/encoder/layer/2/output/dense/*"] },
    })
    const nodes = result.model.graph.nodes
    const floatMatMuls = nodes.filter((n) => n.opType === "MatMul" && result.model.graph.initializers.some((t) => t.name === n.inputs[1] && t.dtype === "float32"))
    expect(floatMatMuls.map((n) => n.name).sort()).toEqual(["/encoder/layer/1/intermediate/dense/MatMul", "/encoder/layer/1/output/dense/MatMul", "/encoder/layer/1/attention/output/dense/MatMul", "/encoder/layer/2/output/dense/MatMul"].sort())
    expect(nodes.filter((n) => opKey(n) === "com.microsoft:Attention").map((n) => n.name)).toEqual(["/encoder/layer.1/attention/self/Attention"])
    const floatNodes = result.record.details.floatNodes as { node: string; reason: string }[]
    expect(floatNodes.find((f) => f.node === "/encoder/layer/2/output/dense/MatMul")?.reason).toBe('excluded by exclude.nodes "/encoder/layer/2/output/dense/*"')
    expect(floatNodes.find((f) => f.node === "/encoder/layer/1/output/dense/MatMul")?.reason).toBe("excluded by exclude.layers 1")
  }, 15_000)

  test("embeddings: the int8 table is gathered, then dequantized (never DequantizeLinear before Gather)", async () => {
    const result = await quantizeModel(source, join(root, "embeddings"), { scheme: "static-int8", calibration, embeddings: true })
    const g = result.model.graph
    const word = g.nodes.find((n) => n.name === "/embeddings/word_embeddings/Gather_quantized")!
    expect(g.initializers.find((t) => t.name === word.inputs[0])?.dtype).toBe("int8")
    const after = g.nodes.find((n) => n.inputs[0] === word.outputs[0])!
    expect(after.opType).toBe("DequantizeLinear")
    const dqOutputs = new Set(g.nodes.filter((n) => n.opType === "DequantizeLinear").flatMap((n) => n.outputs))
    expect(g.nodes.filter((n) => n.opType === "Gather" && dqOutputs.has(n.inputs[0]!))).toEqual([])
    expect((await fidelityOf(join(root, "embeddings", result.file))).mean).toBeGreaterThan(0.99)
  }, 15_000)
})

describe("exclusions by weight name", () => {
  test("a glob over Hugging Face weight names finds auto-named nodes", async () => {
    const result = await quantizeModel(source, join(root, "by-weight"), { scheme: "dynamic-int8", exclude: { nodes: ["encoder.layer.2.output.dense.*"] } })
    const floatNodes = result.record.details.floatNodes as { node: string; opType: string; reason: string }[]
    expect(floatNodes).toEqual([{ node: "/encoder/layer/2/output/dense/MatMul", opType: "MatMul", reason: 'excluded by exclude.nodes "encoder.layer.2.output.dense.*"' }])
  }, 10_000)
})
