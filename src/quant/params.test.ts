// Proves scale/zero-point computation: symmetric int8, asymmetric uint8 with exact zero, and
// per-channel parameters taken along the requested axis of [in, out] and [out, in] weights.

import { describe, expect, test } from "bun:test"
import {
  asymmetricUint8Params,
  channelParams,
  channelRanges,
  outputChannelAxis,
  symmetricInt8Params,
  tensorParams,
  tensorRange,
} from "./params.ts"
import { QuantError } from "./quant-error.ts"

describe("per-tensor parameters", () => {
  test("symmetric int8 uses max|x|/127 and zero point 0", () => {
    const p = tensorParams(new Float32Array([-2.54, 1, 0.3]), "symmetric-int8")
    expect(p).toEqual({ type: "int8", scale: Math.fround(2.54 / 127), zeroPoint: 0 })
    expect(Math.fround(p.scale)).toBe(p.scale)
  })

  test("asymmetric uint8 covers [min, max] and makes 0 exactly representable", () => {
    const p = asymmetricUint8Params(-1, 3)
    expect(p.scale).toBe(Math.fround(4 / 255))
    expect(p.zeroPoint).toBe(64) // 1 / (4/255) = 63.75 → 64
    // A range entirely above 0 is widened to start at 0, so the zero point is 0.
    expect(asymmetricUint8Params(2, 5)).toEqual({ type: "uint8", scale: Math.fround(5 / 255), zeroPoint: 0 })
    // Entirely below 0: zero point at the top.
    expect(asymmetricUint8Params(-5, -2).zeroPoint).toBe(255)
  })

  test("a zero range gets scale 1 instead of dividing by zero", () => {
    expect(symmetricInt8Params(0)).toEqual({ type: "int8", scale: 1, zeroPoint: 0 })
    expect(asymmetricUint8Params(0, 0)).toEqual({ type: "uint8", scale: 1, zeroPoint: 0 })
  })

  test("NaN, infinite or inverted ranges are errors naming the tensor", () => {
    expect(() => tensorRange(new Float32Array([1, NaN]), "layer.0.w")).toThrow(/layer\.0\.w: tensor holds 1 NaN/)
    expect(() => tensorRange(new Float32Array([1, Infinity]), "w")).toThrow(QuantError)
    expect(() => asymmetricUint8Params(2, 1, "act")).toThrow(/act: range min 2 is greater than max 1/)
    expect(() => tensorRange(new Float32Array(0), "w")).toThrow(/empty/)
  })
})

describe("per-channel parameters", () => {
  // 2 inputs × 3 outputs, row-major [in, out]: output channel j is column j.
  const inOut = new Float32Array([
    1, -20, 0.5,
    -3, 10, 0.25,
  ])

  test("[in, out] weights (MatMul B) take ranges down each column", () => {
    expect(outputChannelAxis("in-out")).toBe(1)
    const { mins, maxs } = channelRanges(inOut, [2, 3], 1)
    expect([...mins]).toEqual([-3, -20, 0.25])
    expect([...maxs]).toEqual([1, 10, 0.5])
    const p = channelParams(inOut, [2, 3], 1, "symmetric-int8")
    expect(p.axis).toBe(1)
    expect([...p.scales]).toEqual([3, 20, 0.5].map((m) => Math.fround(Math.fround(m) / 127)))
    expect([...p.zeroPoints]).toEqual([0, 0, 0])
  })

  test("[out, in] weights take ranges along each row", () => {
    expect(outputChannelAxis("out-in")).toBe(0)
    const p = channelParams(inOut, [2, 3], 0, "asymmetric-uint8")
    expect(p.axis).toBe(0)
    expect([...p.scales]).toEqual([Math.fround(21 / 255), Math.fround(13 / 255)])
    expect([...p.zeroPoints]).toEqual([Math.round(20 / Math.fround(21 / 255)), Math.round(3 / Math.fround(13 / 255))])
  })

  test("works on the middle axis of a 3-D tensor and accepts negative axes", () => {
    // shape [2, 2, 2]; channel c along axis 1 holds elements with index (o, c, k).
    const data = new Float32Array([1, 2, -30, 4, 5, -6, 7, 80])
    expect([...channelRanges(data, [2, 2, 2], 1).maxs]).toEqual([5, 80])
    expect([...channelRanges(data, [2, 2, 2], 1).mins]).toEqual([-6, -30])
    expect(channelParams(data, [2, 2, 2], -2, "symmetric-int8").axis).toBe(1)
  })

  test("a bad axis or a shape that disagrees with the data is an error naming the tensor", () => {
    expect(() => channelParams(inOut, [2, 3], 2, "symmetric-int8", "fc.weight")).toThrow(/fc\.weight: axis 2 is out of range for shape \[2, 3\]/)
    expect(() => channelParams(inOut, [3, 3], 1, "symmetric-int8", "fc.weight")).toThrow(/holds 9 elements but the data has 6/)
  })
})
