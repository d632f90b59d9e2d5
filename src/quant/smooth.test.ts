// SmoothQuant smoothing: the smoothed float model computes what the original does, the outlier
// channels' range moves into the weights (one scale for the packed QKV), int8 with smoothing is
// closer to fp32 than without and still fuses to integer kernels, and bad smoothing options are named.

import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readCalibrationSet, writeCalibrationSet, type CalibrationSample } from "../calibration/index.ts"
import { GraphBuilder, opTypeCounts, tensorToFloat32, writeModel } from "../onnx/index.ts"
import { channelAbsMax, ChannelRanges } from "./channel-ranges.ts"
import { collectActivations } from "./collect-activations.ts"
import { compareOutputs, judgedOutput, runOutput } from "./held-out-fidelity.ts"
import { verifyIntegerKernels } from "./integer-kernels.ts"
import { quantizeModel, quantizeOnnxModel } from "./quantize-model.ts"
import { QuantError } from "./quant-error.ts"
import { applySmoothing, layerNormChannelEstimate, smoothGroups, smoothingScales, type SmoothRecord } from "./smooth.ts"
import { buildTestEncoder, testTokenRows } from "./test-encoder.ts"

const root = mkdtempSync(join(tmpdir(), "kiln-smooth-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const encoder = buildTestEncoder({ outliers: true, layers: 3, hidden: 64, seed: 3 })
const source = join(root, "fp32", "onnx", "model.onnx")
const calibration = join(root, "calibration")
let samples: CalibrationSample[]
let heldOut: CalibrationSample[]
let reference: Float32Array[]

beforeAll(async () => {
  await writeModel(encoder.model, source)
  writeCalibrationSet(testTokenRows(30, encoder.vocab, 9), calibration, { seqlen: 16, padId: 0 })
  samples = [...readCalibrationSet(calibration).samples]
  heldOut = samples.slice(24)
  // Batch 1: smoothing is judged per sample here (batched dynamic ranges are their own question).
  reference = await runOutput(encoder.model, join(root, "ref", "model.onnx"), judgedOutput(encoder.model), heldOut, undefined, 1)
})

const observedMaxima = async (model = encoder.model) => {
  const groups = smoothGroups(model)
  const observed = new ChannelRanges()
  await collectActivations(model, groups.map((g) => g.activation), samples.slice(0, 24), observed, { tmpDir: join(root, `stats-${Math.random()}`.replace(".", "")), ignorePadding: true })
  return { groups, observed }
}

describe("smoothing rewrite", () => {
  test("scales are max|X|^α / max|W|^(1−α), 1 where a channel is all zero", () => {
    const s = smoothingScales(Float32Array.of(16, 1, 0), Float32Array.of(0.25, 1, 3), 0.5)
    expect(s[0]).toBeCloseTo(8, 5)
    expect(s[1]).toBeCloseTo(1, 6)
    expect(s[2]).toBe(1)
    expect(smoothingScales(Float32Array.of(16), Float32Array.of(0.25), 0.75)[0]).toBeCloseTo(16 ** 0.75 / 0.25 ** 0.25, 4)
  })

  test("the smoothed float model computes the same outputs; outlier ranges flatten; QKV shares one Mul", async () => {
    const { groups, observed } = await observedMaxima()
    const { model, record } = applySmoothing(encoder.model, groups, (a) => observed.result(a), { alpha: 0.5, from: "calibration", samples: 24 })
    const out = await runOutput(model, join(root, "smoothed", "model.onnx"), "sentence_embedding", heldOut, undefined, 1)
    const f = compareOutputs(reference, out)
    expect(f.min).toBeGreaterThan(0.99999)
    // One group per activation: packed QKV, attention output, FFN up, FFN down — per layer.
    expect(record.activations).toHaveLength(4 * encoder.layers)
    // The LayerNorm outputs also feed residual Adds, so 1/s is a Mul there, not folded.
    expect(record.activations.every((a) => a.via === "mul")).toBe(true)
    // Shifts fold into LayerNorm β (QKV and FFN-up inputs) and the attention's V bias (attention-output input); GELU outputs cannot take one.
    const sites = record.activations.map((a) => a.shift.site)
    expect(sites.filter((x) => x === "layernorm")).toHaveLength(2 * encoder.layers)
    expect(sites.filter((x) => x === "attention")).toHaveLength(encoder.layers)
    expect(record.activations.filter((a) => a.shift.site === null).every((a) => /Gelu|Mul|Erf/.test(a.shift.reason ?? ""))).toBe(true)
    expect(opTypeCounts(model).Mul ?? 0).toBe((opTypeCounts(encoder.model).Mul ?? 0) + 4 * encoder.layers)
    const qkv = record.activations.find((a) => a.nodes.some((n) => n.endsWith("attention/self/Attention")))!
    expect(qkv.nodes).toHaveLength(1)
    expect(qkv.spreadBefore).toBeGreaterThan(5)
    expect(qkv.spreadAfter).toBeLessThan(qkv.spreadBefore / 3)
    // The re-observed smoothed activation has the flat range the record predicts.
    const again = await observedMaxima(model)
    const smoothedInput = again.groups.find((g) => g.targets.some((t) => t.kind === "attention"))!
    const maxima = channelAbsMax(again.observed.result(smoothedInput.activation))
    const channelMax = Math.max(...maxima)
    expect(channelMax / [...maxima].sort((a, b) => a - b)[maxima.length >> 1]!).toBeCloseTo(qkv.spreadAfter, 1)
    // Centred: each re-observed channel's range is symmetric about 0 after the shift.
    const range = again.observed.result(smoothedInput.activation)
    for (let j = 0; j < range.max.length; j++) expect(Math.abs(range.max[j]! + range.min[j]!)).toBeLessThan(0.05 * (range.max[j]! - range.min[j]!) + 1e-4)
  }, 15_000)

  test("an activation read only by the targets folds 1/s into LayerNorm γ/β (no Mul), exactly", async () => {
    const H = 8
    const g = new GraphBuilder({ name: "ln-linear", opset: 17 })
    const x = g.input("x", "float32", ["batch", H])
    const gamma = Float32Array.from({ length: H }, (_, i) => (i === 2 ? 30 : 1))
    const beta = Float32Array.from({ length: H }, (_, i) => (i === 2 ? -40 : 0.1))
    const ln = g.op("LayerNormalization", [x, g.initializer("ln.weight", "float32", [H], gamma), g.initializer("ln.bias", "float32", [H], beta)], { attrs: { axis: -1, epsilon: 1e-5 } })
    const w = Float32Array.from({ length: H * 4 }, (_, i) => Math.sin(i + 1) * (Math.floor(i / 4) === 2 ? 0.02 : 1))
    g.output(g.op("MatMul", [ln, g.initializer("dense.weight", "float32", [H, 4], w)], { name: "dense/MatMul", output: "y" }), "float32", ["batch", 4])
    const model = g.build()
    const groups = smoothGroups(model)
    expect(groups).toHaveLength(1)
    const estimate = layerNormChannelEstimate(model, groups[0]!.activation, H, 4)!
    expect(estimate.min[2]).toBeCloseTo(-40 - 4 * 30, 4)
    expect(estimate.max[2]).toBeCloseTo(-40 + 4 * 30, 4)
    const { model: smoothed, record } = applySmoothing(model, groups, () => estimate, { alpha: 0.5, from: "layernorm", samples: 0 })
    expect(record.activations[0]!.via).toBe("layernorm")
    expect(opTypeCounts(smoothed).Mul).toBeUndefined()
    const newGamma = tensorToFloat32(smoothed.graph.initializers.find((t) => t.name === "ln.weight")!)
    const s = record.activations[0]!
    expect(newGamma[2]).toBeLessThan(30)
    expect(s.scaleMax).toBeGreaterThan(10)
    // Same outputs on real data.
    const ort = await import("onnxruntime-node")
    const run = async (m: typeof model, name: string) => {
      const path = join(root, name, "model.onnx")
      await writeModel(m, path)
      const session = await ort.InferenceSession.create(path)
      const data = Float32Array.from({ length: 3 * H }, (_, i) => Math.cos(i * 1.7) * 2)
      const y = (await session.run({ x: new ort.Tensor("float32", data, [3, H]) })).y!.data as Float32Array
      await session.release()
      return y
    }
    const [a, b] = [await run(model, "ln-a"), await run(smoothed, "ln-b")]
    for (let i = 0; i < a.length; i++) expect(b[i]!).toBeCloseTo(a[i]!, 4)
  })

  test("a weight also read outside the group is copied, not changed in place", async () => {
    const H = 4
    const g = new GraphBuilder({ name: "tied", opset: 17 })
    const x = g.input("x", "float32", ["batch", H])
    const z = g.input("z", "float32", ["batch", H])
    const w = g.initializer("tied.weight", "float32", [H, H], Float32Array.from({ length: H * H }, (_, i) => i + 1))
    g.output(g.op("MatMul", [g.op("Relu", [x]), w], { name: "a/MatMul", output: "a" }), "float32", ["batch", H])
    g.output(g.op("MatMul", [z, w], { name: "b/MatMul", output: "b" }), "float32", ["batch", H])
    const model = g.build()
    const groups = smoothGroups(model).filter((gr) => gr.targets.some((t) => t.node.name === "a/MatMul"))
    const { model: smoothed } = applySmoothing(model, groups, () => ({ min: Float32Array.of(-100, -1, -1, -1), max: Float32Array.of(100, 1, 1, 1) }), { alpha: 0.5, from: "calibration", samples: 1 })
    const original = tensorToFloat32(smoothed.graph.initializers.find((t) => t.name === "tied.weight")!)
    expect([...original]).toEqual(Array.from({ length: H * H }, (_, i) => i + 1))
    const a = smoothed.graph.nodes.find((n) => n.name === "a/MatMul")!
    const b = smoothed.graph.nodes.find((n) => n.name === "b/MatMul")!
    expect(a.inputs[1]).toBe("tied.weight_smoothed")
    expect(b.inputs[1]).toBe("tied.weight")
  })
})

describe("quantizeModel with smoothing", () => {
  test("dynamic int8: smoothing (on by default with a calibration set) beats no smoothing, is recorded, and fuses to integer kernels", async () => {
    const fidelity = async (dir: string, options: Parameters<typeof quantizeModel>[2]) => {
      const result = await quantizeModel(source, join(root, dir), options)
      const out = await runOutput(result.model, join(root, `${dir}-eval`, "model.onnx"), "sentence_embedding", heldOut, undefined, 1)
      return { result, f: compareOutputs(reference, out) }
    }
    const plain = await fidelity("dyn-plain", { scheme: "dynamic-int8", smooth: false })
    const smoothed = await fidelity("dyn-smooth", { scheme: "dynamic-int8", calibration, samples: 24 })
    expect(plain.result.record.details.smooth).toBe(false)
    const record = smoothed.result.record.details.smooth as SmoothRecord
    expect(record).toMatchObject({ alpha: 0.5, from: "calibration", samples: 24, minSpread: 4 })
    // Only the activations with outlier channels (the LayerNorm outputs feeding QKV and FFN-up) are scaled;
    // the attention outputs are only shifted, and the GELU outputs feeding FFN-down are left alone.
    const scaled = record.activations.filter((a) => a.via !== "none")
    expect(scaled.every((a) => a.tensor.endsWith("LayerNormalization_output_0"))).toBe(true)
    expect(scaled).toHaveLength(2 * encoder.layers)
    expect(record.activations.filter((a) => a.via === "none").every((a) => a.shift.site === "attention")).toBe(true)
    expect(record.skipped).toHaveLength(encoder.layers)
    expect(record.skipped.map((s) => s.reason).every((r) => r.startsWith("no outlier channels"))).toBe(true)
    expect(1 - smoothed.f.mean).toBeLessThan((1 - plain.f.mean) / 2)
    const proof = await verifyIntegerKernels(join(root, "dyn-smooth", smoothed.result.file))
    expect(proof.integerKernels).toEqual({ "com.microsoft:DynamicQuantizeMatMul": 9, "com.microsoft:QAttention": 3 })
    expect(proof.dequantizedFloatMatMuls).toEqual([])
  }, 15_000)

  test('without calibration data, from: "layernorm" smooths the LayerNorm outputs only', async () => {
    const { record } = await quantizeOnnxModel(encoder.model, { scheme: "dynamic-int8", smooth: { alpha: 0.5, from: "layernorm" } })
    const smooth = record.details.smooth as SmoothRecord
    expect(smooth.from).toBe("layernorm")
    expect(smooth.samples).toBe(0)
    // QKV and FFN-up read LayerNorm outputs; attention-output and FFN-down read context and GELU.
    expect(smooth.activations).toHaveLength(2 * encoder.layers)
    expect(smooth.skipped).toHaveLength(2 * encoder.layers)
  }, 10_000)

  test("static int8 with smoothing keeps QDQ fusion (MatMulIntegerToFloat, QAttention) and records the held-out fidelity", async () => {
    const result = await quantizeModel(source, join(root, "static-smooth"), { scheme: "static-int8", calibration, method: "max", heldOut: 6 })
    expect((result.record.details.smooth as SmoothRecord).samples).toBe(24)
    expect(result.record.details.fidelity).toMatchObject({ output: "sentence_embedding" })
    expect((result.record.details.fidelity as { mean: number }).mean).toBeGreaterThan(0.999)
    const proof = await verifyIntegerKernels(join(root, "static-smooth", result.file))
    expect(proof.integerKernels).toEqual({ "com.microsoft:MatMulIntegerToFloat": 9, "com.microsoft:QAttention": 3 })
    expect(proof.dequantizedFloatMatMuls).toEqual([])
  }, 15_000)

  test("bad smoothing options name the field", async () => {
    const error = (options: unknown) =>
      quantizeOnnxModel(encoder.model, options as never).then(
        () => undefined,
        (e: unknown) => e,
      )
    const alpha = await error({ scheme: "dynamic-int8", smooth: { alpha: 1.5 } })
    expect(alpha).toBeInstanceOf(QuantError)
    expect((alpha as QuantError).subject).toBe("smooth.alpha")
    const from = await error({ scheme: "dynamic-int8", smooth: { from: "calibration" } })
    expect((from as QuantError).subject).toBe("smooth.from")
    expect((from as QuantError).message).toMatch(/needs a calibration set/)
  })
})
