// Bad quantize configs fail before any work, with a QuantError naming the field: percentile outside
// (0, 100], static int8 or exclude: "auto" without a calibration set, an exclude pattern, op type
// or layer that matches nothing, an unknown scheme.

import { describe, expect, test } from "bun:test"
import { quantizeOnnxModel } from "./quantize-model.ts"
import { parseQuantizeOptions } from "./quantize-options.ts"
import { QuantError } from "./quant-error.ts"
import { buildTestEncoder } from "./test-encoder.ts"

const expectBadOption = async (run: () => unknown, subject: string, pattern: RegExp) => {
  let caught: unknown
  try {
    await run()
  } catch (e) {
    caught = e
  }
  expect(caught).toBeInstanceOf(QuantError)
  expect((caught as QuantError).reason).toBe("bad-option")
  expect((caught as QuantError).subject).toBe(subject)
  expect((caught as QuantError).message).toMatch(pattern)
}

const model = buildTestEncoder({ layers: 2 }).model

describe("bad quantize options are named", () => {
  for (const percentile of [0, -1, 100.5, Number.NaN]) {
    test(`percentile ${percentile}`, async () => {
      await expectBadOption(() => parseQuantizeOptions({ scheme: "static-int8", calibration: "calib", percentile }), "percentile", /must be a number in \(0, 100\]/)
    })
  }

  test("static int8 without a calibration set", async () => {
    await expectBadOption(() => parseQuantizeOptions({ scheme: "static-int8" }), "calibration", /static int8 needs a calibration set/)
  })

  test('exclude: "auto" without a calibration set', async () => {
    await expectBadOption(() => parseQuantizeOptions({ scheme: "dynamic-int8", exclude: "auto" }), "calibration", /held-out calibration samples/)
  })

  test("an exclude glob that matches no node name or weight name", async () => {
    await expectBadOption(() => quantizeOnnxModel(model, { scheme: "dynamic-int8", exclude: { nodes: ["/encoder/layer/0/*", "*/pooler/*"] } }), "exclude.nodes[1]", /pattern "\*\/pooler\/\*" matches no node name or weight name/)
  })

  test("an exclude op type that matches no node", async () => {
    await expectBadOption(() => quantizeOnnxModel(model, { scheme: "dynamic-int8", exclude: { opTypes: ["Conv"] } }), "exclude.opTypes[0]", /op type "Conv" matches no node/)
  })

  test("an exclude layer the model does not have", async () => {
    await expectBadOption(() => quantizeOnnxModel(model, { scheme: "fp16", exclude: { layers: [5] } }), "exclude.layers[0]", /layer 5 matches no node \(layers found in node and weight names: 0…1\)/)
  })

  test("an unknown scheme, method or field", async () => {
    await expectBadOption(() => parseQuantizeOptions({ scheme: "int4" }), "scheme", /dynamic-int8/)
    await expectBadOption(() => parseQuantizeOptions({ scheme: "static-int8", calibration: "c", method: "mse" }), "method", /invalid quantize option/)
    await expectBadOption(() => parseQuantizeOptions({ scheme: "dynamic-int8", perChannel: true }), "scheme", /perChannel/)
  })

  test("bad budget and sensitivity fields", async () => {
    await expectBadOption(() => parseQuantizeOptions({ scheme: "dynamic-int8", budget: { spearman: 1.5 } }), "budget.spearman", /invalid quantize option/)
    await expectBadOption(() => parseQuantizeOptions({ scheme: "dynamic-int8", budget: { meanAbsDiff: 0 } }), "budget.meanAbsDiff", /invalid quantize option/)
    await expectBadOption(() => parseQuantizeOptions({ scheme: "dynamic-int8", sensitivity: { unit: "block" } }), "sensitivity.unit", /invalid quantize option/)
  })
})

test("budget: mean cosine 0.999 unless some criterion is given; search defaults to MatMul groups", () => {
  const defaults = parseQuantizeOptions({ scheme: "dynamic-int8" })
  expect(defaults.scheme !== "fp16" && defaults.budget).toEqual({ meanCosine: 0.999 })
  expect(defaults.scheme !== "fp16" && defaults.sensitivity).toEqual({ unit: "matmul", probe: "alone", prune: 4 })
  const empty = parseQuantizeOptions({ scheme: "dynamic-int8", budget: {} })
  expect(empty.scheme !== "fp16" && empty.budget).toEqual({ meanCosine: 0.999 })
  const ranking = parseQuantizeOptions({ scheme: "dynamic-int8", budget: { spearman: 0.995 } })
  expect(ranking.scheme !== "fp16" && ranking.budget).toEqual({ spearman: 0.995 })
})
