// GPTQ weight rounding: the Hessian accumulator sums 2·XᵀX exactly across chunks, rounding against it
// lowers a layer's output error on unseen inputs with the same scales (more so in act order), blocked updates change nothing,
// and weightRounding: "gptq" lowers a quantized encoder's error vs fp32 and is recorded.

import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readCalibrationSet, writeCalibrationSet, type CalibrationSample } from "../calibration/index.ts"
import { writeModel } from "../onnx/index.ts"
import { compareOutputs, judgedOutput, runOutput } from "./held-out-fidelity.ts"
import { gptqRoundColumns, HessianAccumulator } from "./gptq.ts"
import { GramSessions } from "./gram.ts"
import { QuantError } from "./quant-error.ts"
import { quantizeOnnxModel } from "./quantize-model.ts"
import { buildTestEncoder, testTokenRows } from "./test-encoder.ts"
import { gaussian, seededRandom } from "./test-random.ts"
import { quantizeWeightColumns } from "./weight-quant.ts"

/** Tokens with correlated channels of unequal size, like a layer's real inputs (a random mix of a few factors). */
const correlatedInputs = (tokens: number, k: number, seed: number, mixing: Float32Array): Float32Array => {
  const normal = gaussian(seededRandom(seed))
  const factors = mixing.length / k
  const x = new Float32Array(tokens * k)
  const f = new Float64Array(factors)
  for (let t = 0; t < tokens; t++) {
    for (let i = 0; i < factors; i++) f[i] = normal()
    for (let c = 0; c < k; c++) {
      let v = 0.05 * normal()
      for (let i = 0; i < factors; i++) v += f[i]! * mixing[i * k + c]!
      x[t * k + c] = v
    }
  }
  return x
}

const randomMatrix = (length: number, seed: number): Float32Array => {
  const normal = gaussian(seededRandom(seed))
  return Float32Array.from({ length }, () => normal())
}

/** Σ over tokens and outputs of (x·W − x·Ŵ)², Ŵ = q·scale per column. */
const outputError = (x: Float32Array, w: Float32Array, q: Int8Array, scales: Float32Array, k: number, n: number): number => {
  let error = 0
  for (let t = 0; t < x.length / k; t++)
    for (let c = 0; c < n; c++) {
      let d = 0
      for (let i = 0; i < k; i++) d += x[t * k + i]! * (w[i * n + c]! - q[i * n + c]! * scales[c]!)
      error += d * d
    }
  return error
}

describe("Hessian accumulation", () => {
  test("sums 2·XᵀX in float64 over every token, across observations and chunk boundaries", () => {
    const k = 5
    const a = randomMatrix(100 * k, 1)
    const b = randomMatrix(37 * k, 2)
    const acc = new HessianAccumulator()
    acc.observe("x", a, [1, 100, k])
    acc.observe("x", b, [1, 37, k])
    const h = acc.result("x")!
    expect(acc.tokens("x")).toBe(137)
    for (let i = 0; i < k; i++)
      for (let j = 0; j < k; j++) {
        let s = 0
        for (const m of [a, b]) for (let t = 0; t < m.length / k; t++) s += m[t * k + i]! * m[t * k + j]!
        expect(h[i * k + j]).toBeCloseTo(2 * s, 6)
      }
    expect(acc.result("never")).toBeUndefined()
  })

  test("through ONNX Runtime (GramSessions) the sums match the float64 loop: full blocks, a partial one, two channel counts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kiln-gram-"))
    const gram = new GramSessions({ tmpDir: dir, threads: 1 })
    try {
      const engine = new HessianAccumulator(gram)
      const loop = new HessianAccumulator()
      const wide = randomMatrix(1300 * 48, 7)
      const narrow = randomMatrix(70 * 5, 8)
      for (const acc of [engine, loop]) {
        acc.observe("wide", wide.subarray(0, 700 * 48), [1, 700, 48])
        await acc.settle()
        acc.observe("wide", wide.subarray(700 * 48), [1, 600, 48])
        acc.observe("narrow", narrow, [70, 5])
      }
      expect(() => engine.result("wide")).toThrow(/settled/)
      await engine.settle(true)
      for (const name of ["wide", "narrow"]) {
        const a = engine.result(name)!
        const b = loop.result(name)!
        let worst = 0
        let scale = 0
        for (let i = 0; i < a.length; i++) {
          worst = Math.max(worst, Math.abs(a[i]! - b[i]!))
          scale = Math.max(scale, Math.abs(b[i]!))
        }
        expect(worst).toBeLessThan(1e-5 * scale)
        expect(engine.tokens(name)).toBe(loop.tokens(name))
      }
    } finally {
      await gram.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test("a channel count that changes between samples is an error naming the tensor", () => {
    const acc = new HessianAccumulator()
    acc.observe("h", new Float32Array(8), [1, 2, 4])
    expect(() => acc.observe("h", new Float32Array(6), [1, 2, 3])).toThrow(/h: activation has 3 channels here but 4/)
  })
})

describe("gptqRoundColumns", () => {
  const k = 48
  const n = 24
  const mixing = randomMatrix(6 * k, 3).map((v, i) => v * (1 + (i % k) / 8))
  const calibration = correlatedInputs(400, k, 4, mixing)
  const heldOut = correlatedInputs(200, k, 5, mixing)
  const w = randomMatrix(k * n, 6)
  const acc = new HessianAccumulator()
  acc.observe("x", calibration, [400, k])
  const h = acc.result("x")!
  const nearest = quantizeWeightColumns(w, k, n, "per-channel", "w")

  test("lowers the output error on held-out inputs, with the nearest-rounding scales and levels within ±127", () => {
    const rounded = gptqRoundColumns(w, k, n, nearest.scales, h, "w")
    expect(rounded.scales).toEqual(nearest.scales)
    expect(rounded.data.every((v) => v >= -127 && v <= 127)).toBe(true)
    expect(rounded.data).not.toEqual(nearest.data)
    const before = outputError(heldOut, w, nearest.data, nearest.scales, k, n)
    const after = outputError(heldOut, w, rounded.data, rounded.scales, k, n)
    expect(after).toBeLessThan(0.8 * before)
  })

  test("blocked error updates give the same levels as row-by-row ones", () => {
    const whole = gptqRoundColumns(w, k, n, nearest.scales, h, "w", { block: k })
    const blocked = gptqRoundColumns(w, k, n, nearest.scales, h, "w", { block: 7 })
    expect(blocked.data).toEqual(whole.data)
  })

  test("act order: rounding the high-energy channels first beats the stored order when those come last", () => {
    // Channel energy grows with the index here, so the stored order rounds the biggest channels last,
    // when no row is left to absorb their error.
    const inOrder = gptqRoundColumns(w, k, n, nearest.scales, h, "w", { actOrder: false })
    const byEnergy = gptqRoundColumns(w, k, n, nearest.scales, h, "w")
    expect(byEnergy.data).not.toEqual(inOrder.data)
    expect(outputError(heldOut, w, byEnergy.data, nearest.scales, k, n)).toBeLessThan(outputError(heldOut, w, inOrder.data, nearest.scales, k, n))
  })

  test("per-tensor scale works too; a Hessian of the wrong size is an error naming the weight", () => {
    const perTensor = quantizeWeightColumns(w, k, n, "per-tensor", "w")
    const rounded = gptqRoundColumns(w, k, n, perTensor.scales, h, "w")
    expect(outputError(heldOut, w, rounded.data, Float32Array.from({ length: n }, () => perTensor.scales[0]!), k, n)).toBeLessThan(
      outputError(heldOut, w, perTensor.data, Float32Array.from({ length: n }, () => perTensor.scales[0]!), k, n),
    )
    expect(() => gptqRoundColumns(w, k, n, nearest.scales, new Float64Array(9), "w")).toThrow(/w: the Hessian of its input has 3 channels, expected 48/)
  })
})

describe('weightRounding: "gptq" on an encoder', () => {
  const root = mkdtempSync(join(tmpdir(), "kiln-gptq-"))
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  const encoder = buildTestEncoder({ outliers: true, layers: 2, hidden: 64, seed: 11 })
  const calibration = join(root, "calibration")
  let heldOut: CalibrationSample[]
  let reference: Float32Array[]

  beforeAll(async () => {
    await writeModel(encoder.model, join(root, "fp32", "model.onnx"))
    writeCalibrationSet(testTokenRows(40, encoder.vocab, 21), calibration, { seqlen: 16, padId: 0 })
    // Held out: the last 8 samples, which quantizeOnnxModel is told to keep out of calibration.
    heldOut = readCalibrationSet(calibration).samples.slice(32)
    reference = await runOutput(encoder.model, join(root, "ref", "model.onnx"), judgedOutput(encoder.model), heldOut, undefined, 1)
  })

  const lossOf = async (scheme: "dynamic-int8" | "static-int8", weightRounding: "nearest" | "gptq") => {
    const { model, record } = await quantizeOnnxModel(encoder.model, { scheme, calibration, heldOut: 8, smooth: true, weightRounding }, { tmpDir: join(root, `${scheme}-${weightRounding}`) })
    const out = await runOutput(model, join(root, `${scheme}-${weightRounding}-out`, "model.onnx"), judgedOutput(encoder.model), heldOut, undefined, 1)
    return { loss: 1 - compareOutputs(reference, out).mean, details: record.details }
  }

  for (const scheme of ["dynamic-int8", "static-int8"] as const)
    test(`${scheme}: lower error vs fp32 on held-out samples than nearest rounding, and recorded`, async () => {
      const nearest = await lossOf(scheme, "nearest")
      const gptq = await lossOf(scheme, "gptq")
      expect(nearest.details.weightRounding).toBe("nearest")
      const record = gptq.details.weightRounding as { method: string; samples: number; weights: number; tokens: number }
      expect(record.method).toBe("gptq")
      expect(record.samples).toBe(32)
      expect(record.weights).toBe(gptq.details.quantizedNodes as number)
      expect(record.tokens).toBeGreaterThan(32)
      expect(gptq.loss).toBeLessThan(0.8 * nearest.loss)
    }, 30_000)

  test("fewer calibration tokens than input channels is warned about (the Hessians are rank-deficient) and the widest input recorded", async () => {
    const lines: string[] = []
    // 38 of 40 samples held out: two samples of at most 16 tokens each, for 64-channel inputs.
    const { record } = await quantizeOnnxModel(encoder.model, { scheme: "dynamic-int8", calibration, heldOut: 38, weightRounding: "gptq" }, { tmpDir: join(root, "few-tokens"), log: (l) => lines.push(l) })
    const rounding = record.details.weightRounding as { tokens: number; widestInput: number }
    expect(rounding.tokens).toBeLessThan(rounding.widestInput)
    expect(lines.some((l) => l.includes(`${rounding.tokens} calibration tokens for inputs of up to ${rounding.widestInput} channels`))).toBe(true)
    const enough: string[] = []
    await quantizeOnnxModel(encoder.model, { scheme: "dynamic-int8", calibration, heldOut: 8, weightRounding: "gptq" }, { tmpDir: join(root, "enough-tokens"), log: (l) => enough.push(l) })
    expect(enough.some((l) => l.includes("rank-deficient"))).toBe(false)
  }, 30_000)

  test("gptq without a calibration set is an error naming weightRounding", async () => {
    const attempt = quantizeOnnxModel(encoder.model, { scheme: "dynamic-int8", weightRounding: "gptq" })
    await expect(attempt).rejects.toBeInstanceOf(QuantError)
    await expect(attempt).rejects.toThrow(/weightRounding: "gptq" needs a calibration set/)
  })
})
