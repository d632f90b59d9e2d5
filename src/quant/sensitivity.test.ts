// exclude: "auto": layers are measured one at a time on held-out samples, the most sensitive are
// kept in float until the budget holds, and the record says which and why. Smoothing is off here:
// with it this small encoder meets the budget with nothing kept, and the search has nothing to show.

import { afterAll, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { writeCalibrationSet } from "../calibration/index.ts"
import { quantizeOnnxModel } from "./quantize-model.ts"
import type { SensitivityRecord } from "./sensitivity.ts"
import { buildTestEncoder, testTokenRows } from "./test-encoder.ts"

const root = mkdtempSync(join(tmpdir(), "kiln-sensitivity-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

test('exclude: "auto" keeps the most sensitive layers in float until mean cosine meets the budget', async () => {
  const encoder = buildTestEncoder({ outliers: true, layers: 4, seed: 7 })
  const calibration = join(root, "calibration")
  writeCalibrationSet(testTokenRows(30, encoder.vocab), calibration, { seqlen: 16, padId: 0 })
  const budget = 0.9995
  const { model, record } = await quantizeOnnxModel(encoder.model, { scheme: "static-int8", calibration, method: "max", smooth: false, exclude: "auto", budget: { meanCosine: budget } })
  const s = record.details.sensitivity as SensitivityRecord
  expect(s.heldOutSamples).toBe(6)
  expect(s.groups.map((g) => g.group).sort()).toEqual(["layer.0", "layer.1", "layer.2", "layer.3"])
  // Sorted most sensitive first.
  for (let i = 1; i < s.groups.length; i++) expect(s.groups[i - 1]!.loss).toBeGreaterThanOrEqual(s.groups[i]!.loss)
  expect(s.steps[0]!.keptFloat).toEqual([])
  const last = s.steps.at(-1)!
  expect(last.mean).toBeGreaterThanOrEqual(budget)
  expect(s.met).toBe(true)
  // The kept groups are the leading ones of the ranking, each with its measured loss.
  expect(s.keptFloat.map((k) => k.group)).toEqual(s.groups.slice(0, s.keptFloat.length).map((g) => g.group))
  expect(s.keptFloat.length).toBeGreaterThan(0)
  expect(s.keptFloat[0]!.why).toMatch(/budget 0.9995 needed it in float/)
  // The model matches the record: kept layers have float MatMuls, the others none.
  const floatWeights = new Set(model.graph.initializers.filter((t) => t.dtype === "float32" && /\.(dense|qkv)\.weight$/.test(t.name)).map((t) => t.name.split(".")[2]))
  expect([...floatWeights].sort()).toEqual(s.keptFloat.map((k) => k.group.split(".")[1]).sort())
}, 20_000)
