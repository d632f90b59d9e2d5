// exclude: "auto": MatMul groups (or whole layers) are measured on held-out samples, kept in float in
// order of loss per MAC until the budget holds, and the record says which and why. Smoothing is off
// here: with it this small encoder meets the budget with nothing kept, and the search has nothing to show.

import { afterAll, expect, test } from "bun:test"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { writeCalibrationSet } from "../calibration/index.ts"
import type { OnnxModel } from "../onnx/index.ts"
import { quantizeOnnxModel } from "./quantize-model.ts"
import { meetsBudget, type SensitivityRecord } from "./sensitivity.ts"
import { buildTestEncoder, testTokenRows } from "./test-encoder.ts"

const root = mkdtempSync(join(tmpdir(), "kiln-sensitivity-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const encoder = buildTestEncoder({ outliers: true, layers: 4, seed: 7 })
const calibration = join(root, "calibration")
writeCalibrationSet(testTokenRows(30, encoder.vocab), calibration, { seqlen: 16, padId: 0 })

/** Group of a float MatMul weight left in the quantized model ("layer.2.ffn-up"), by its Hugging Face name. */
const floatGroups = (model: OnnxModel): string[] => {
  const roles: [RegExp, string][] = [
    [/attention\.self\.qkv\.weight$/, "qkv"],
    [/attention\.output\.dense\.weight$/, "attention-output"],
    [/intermediate\.dense\.weight$/, "ffn-up"],
    [/\.output\.dense\.weight$/, "ffn-down"],
  ]
  const out: string[] = []
  for (const t of model.graph.initializers) {
    if (t.dtype !== "float32") continue
    const layer = /encoder\.layer\.(\d+)\./.exec(t.name)?.[1]
    const role = roles.find(([re]) => re.test(t.name))?.[1]
    if (layer !== undefined && role !== undefined) out.push(`layer.${layer}.${role}`)
  }
  return out.sort()
}

test('exclude: "auto" keeps MatMul groups in float by loss per MAC until the budget holds, and records why', async () => {
  const budget = 0.9995
  const { model, record } = await quantizeOnnxModel(encoder.model, { scheme: "static-int8", calibration, method: "max", smooth: false, exclude: "auto", budget: { meanCosine: budget } })
  const s = record.details.sensitivity as SensitivityRecord
  expect(s.unit).toBe("matmul")
  expect(s.heldOutSamples).toBe(6)
  const roles = ["attention-output", "ffn-down", "ffn-up", "qkv"]
  expect(s.groups.map((g) => g.group).sort()).toEqual([0, 1, 2, 3].flatMap((l) => roles.map((r) => `layer.${l}.${r}`)))
  // Hidden 32, FFN 128: MACs per token of each role.
  const macs = Object.fromEntries(s.groups.filter((g) => g.layer === 0).map((g) => [g.role, g.macsPerToken]))
  expect(macs).toEqual({ qkv: 32 * 96, "attention-output": 32 * 32, "ffn-up": 32 * 128, "ffn-down": 128 * 32 })
  // Groups sorted by loss; the greedy order by loss per MAC.
  for (let i = 1; i < s.groups.length; i++) expect(s.groups[i - 1]!.loss).toBeGreaterThanOrEqual(s.groups[i]!.loss)
  const perMac = new Map(s.groups.map((g) => [g.group, g.lossPerMmac]))
  for (let i = 1; i < s.order.length; i++) expect(perMac.get(s.order[i - 1]!)!).toBeGreaterThanOrEqual(perMac.get(s.order[i]!)!)
  expect(s.steps[0]).toMatchObject({ action: "all int8", keptFloat: [], met: false })
  expect(s.met).toBe(true)
  expect(s.keptFloat.length).toBeGreaterThan(0)
  expect(s.keptFloat.length).toBeLessThan(s.groups.length)
  // The chosen configuration was measured and met the budget; the record's fidelity is its.
  const chosen = s.steps.filter((st) => st.met && [...st.keptFloat].sort().join() === s.keptFloat.map((k) => k.group).sort().join())
  expect(chosen.length).toBeGreaterThan(0)
  expect((record.details.fidelity as { mean: number }).mean).toBeGreaterThanOrEqual(budget)
  expect(s.keptFloat[0]!.why).toMatch(/per million MACs\/token, rank \d+ of 16\); the budget needed it in float/)
  const total = s.groups.reduce((sum, g) => sum + g.macsPerToken, 0)
  expect(s.floatMacsShare).toBeCloseTo(s.keptFloat.reduce((sum, k) => sum + k.macsPerToken, 0) / total, 10)
  // The model matches the record: exactly the kept groups have float weights.
  expect(floatGroups(model)).toEqual(s.keptFloat.map((k) => k.group).sort())
}, 20_000)

test('unit "layer" searches whole layers, as before, and leaves no candidate models behind', async () => {
  const scratch = join(root, "scratch-layer")
  const { model, record } = await quantizeOnnxModel(encoder.model, {
    scheme: "static-int8",
    calibration,
    method: "max",
    smooth: false,
    exclude: "auto",
    budget: { meanCosine: 0.9995 },
    sensitivity: { unit: "layer", prune: 0 },
  }, { tmpDir: scratch })
  expect(readdirSync(scratch).filter((d) => d.startsWith("candidate-"))).toEqual([])
  const s = record.details.sensitivity as SensitivityRecord
  expect(s.groups.map((g) => g.group).sort()).toEqual(["layer.0", "layer.1", "layer.2", "layer.3"])
  expect(s.met).toBe(true)
  expect(s.steps.some((st) => st.action === "prune")).toBe(false)
  const keptLayers = s.keptFloat.map((k) => k.group.split(".")[1])
  expect(new Set(floatGroups(model).map((g) => g.split(".")[1]))).toEqual(new Set(keptLayers))
}, 20_000)

test('dynamic int8 takes exclude: "auto" too, judged on batched held-out runs', async () => {
  const { record } = await quantizeOnnxModel(encoder.model, { scheme: "dynamic-int8", calibration, smooth: false, exclude: "auto", budget: { meanCosine: 0.9995 } })
  const s = record.details.sensitivity as SensitivityRecord
  expect(s.met).toBe(true)
  expect((record.details.fidelity as { mean: number }).mean).toBeGreaterThanOrEqual(0.9995)
})

test("a budget already met keeps nothing in float and probes nothing", async () => {
  const { record } = await quantizeOnnxModel(encoder.model, { scheme: "static-int8", calibration, method: "max", smooth: false, exclude: "auto", budget: { meanCosine: 0.5 } })
  const s = record.details.sensitivity as SensitivityRecord
  expect(s).toMatchObject({ met: true, keptFloat: [], groups: [], floatMacsShare: 0 })
  expect(s.steps).toHaveLength(1)
})

test("Spearman and |Δ| budgets are for scalar outputs: on an embedding they are an error naming the field", async () => {
  await expect(
    quantizeOnnxModel(encoder.model, { scheme: "static-int8", calibration, method: "max", smooth: false, exclude: "auto", budget: { spearman: 0.99 } }),
  ).rejects.toThrow(/budget\.spearman.*one score per sample/)
}, 30_000)

test("meetsBudget requires every criterion given", () => {
  const scalar = { metric: "pearson" as const, mean: 0.999, min: 0.999, spearman: 0.99, meanAbsDiff: 0.02 }
  expect(meetsBudget(scalar, { meanCosine: 0.998 })).toBe(true)
  expect(meetsBudget(scalar, { meanCosine: 0.998, spearman: 0.995 })).toBe(false)
  expect(meetsBudget(scalar, { spearman: 0.985, meanAbsDiff: 0.03 })).toBe(true)
  expect(meetsBudget(scalar, { spearman: 0.985, meanAbsDiff: 0.01 })).toBe(false)
  expect(meetsBudget({ metric: "cosine", mean: 0.9995, min: 0.98 }, { meanCosine: 0.999, minCosine: 0.99 })).toBe(false)
})
