// fp16 conversion of a BERT-shaped encoder: outputs close to fp32, LayerNorm and Softmax computed in
// float32 behind Casts, float32 graph outputs kept unless asked, exclusions kept fp32.

import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ort from "onnxruntime-node"
import { readCalibrationSet, writeCalibrationSet } from "../calibration/index.ts"
import { opKey, writeModel } from "../onnx/index.ts"
import { compareOutputs, runOutput } from "./held-out-fidelity.ts"
import { convertToFloat16 } from "./fp16.ts"
import { quantizeOnnxModel } from "./quantize-model.ts"
import { buildTestEncoder, testEncoderFeeds, testTokenRows } from "./test-encoder.ts"

const root = mkdtempSync(join(tmpdir(), "kiln-fp16-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const encoder = buildTestEncoder({ outliers: true, layers: 2, attention: "unfused" })
const calibration = join(root, "calibration")
beforeAll(() => {
  writeCalibrationSet(testTokenRows(6, encoder.vocab), calibration, { seqlen: 16, padId: 0 })
})

describe("fp16", () => {
  test("stays within cosine 0.9999 of fp32, with float16 weights and the scheme recorded", async () => {
    const { model, record } = await quantizeOnnxModel(encoder.model, { scheme: "fp16" })
    expect(record.scheme).toBe("fp16")
    const weights = model.graph.initializers.filter((t) => t.name.endsWith(".weight") && t.dims.length === 2)
    expect(weights.length).toBeGreaterThan(0)
    expect(weights.every((t) => t.dtype === "float16")).toBe(true)
    const samples = readCalibrationSet(calibration).samples
    const reference = await runOutput(encoder.model, join(root, "ref", "model.onnx"), "sentence_embedding", samples)
    const half = await runOutput(model, join(root, "half", "model.onnx"), "sentence_embedding", samples)
    const fidelity = compareOutputs(reference, half)
    expect(fidelity.mean).toBeGreaterThan(0.9999)
    expect(model.graph.outputs.map((o) => o.dtype)).toEqual(["float32", "float32"])
  }, 10_000)

  test("LayerNormalization and Softmax compute in float32 behind Casts; their weights stay float32", () => {
    const { model, keptFp32 } = convertToFloat16(encoder.model, { keepFp32: ["LayerNormalization", "Softmax"], keepIoFloat32: true })
    expect(new Set(keptFp32.map((k) => k.opType))).toEqual(new Set(["LayerNormalization", "Softmax"]))
    const producers = new Map(model.graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)))
    for (const ln of model.graph.nodes.filter((n) => n.opType === "LayerNormalization")) {
      const input = producers.get(ln.inputs[0]!)!
      expect(input.opType).toBe("Cast")
      expect(input.attributes.find((a) => a.name === "to")?.value).toBe(1)
      expect(model.graph.initializers.find((t) => t.name === ln.inputs[1])?.dtype).toBe("float32")
    }
  })

  test("exclude keeps named layers in float32, keepIoFloat32: false declares float16 outputs", async () => {
    const { model, keptFp32 } = convertToFloat16(encoder.model, { keepFp32: [], keepIoFloat32: false, exclude: { layers: [1] } })
    expect(keptFp32.some((k) => k.node === "/encoder/layer/1/output/dense/MatMul" && k.reason === "exclude.layers 1")).toBe(true)
    expect(model.graph.initializers.find((t) => t.name === "encoder.layer.1.output.dense.weight")?.dtype).toBe("float32")
    expect(model.graph.initializers.find((t) => t.name === "encoder.layer.0.output.dense.weight")?.dtype).toBe("float16")
    expect(model.graph.outputs.map((o) => o.dtype)).toEqual(["float16", "float16"])
    expect(model.graph.nodes.some((n) => opKey(n) === "LayerNormalization")).toBe(true)
    const path = join(root, "io16", "model.onnx")
    await writeModel(model, path)
    const session = await ort.InferenceSession.create(path)
    const f = testEncoderFeeds({ vocab: encoder.vocab, batch: 2, seq: 6 })
    const dims = [...f.dims]
    const out = await session.run({ input_ids: new ort.Tensor("int64", f.input_ids, dims), attention_mask: new ort.Tensor("int64", f.attention_mask, dims), token_type_ids: new ort.Tensor("int64", f.token_type_ids, dims) })
    expect(out.sentence_embedding!.type).toBe("float16")
    await session.release()
  }, 10_000)
})
