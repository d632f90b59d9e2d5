// Proves multi-head self-attention by hand: known scores give known softmax weights, and a
// masked key gets none.

import { expect, test } from "bun:test"
import { matrix } from "../../reference/index.ts"
import { selfAttention } from "./reference.ts"

// One head of width 2: query 0 scores keys [0, ln 3] after the 1/√2 scale, so weights are [1/4, 3/4].
const q = matrix(2, 2, Float64Array.of(Math.log(3) * Math.SQRT2, 0, 0, 0))
const k = matrix(2, 2, Float64Array.of(0, 0, 1, 0))
const v = matrix(2, 2, Float64Array.of(1, 0, 0, 1))

test("softmax(Q·Kᵀ/√d)·V with known scores", () => {
  const context = selfAttention(q, k, v, [1, 1], 1)
  expect(context.data[0]).toBeCloseTo(0.25, 14)
  expect(context.data[1]).toBeCloseTo(0.75, 14)
  // query 1 is zero: uniform weights
  expect(context.data[2]).toBeCloseTo(0.5, 14)
  expect(context.data[3]).toBeCloseTo(0.5, 14)
})

test("a masked key receives no attention", () => {
  const context = selfAttention(q, k, v, [1, 0], 1)
  expect([...context.data]).toEqual([1, 0, 1, 0])
})

test("heads attend independently over their own slice of the hidden size", () => {
  // Two heads of width 1: head 0 sees scores [0, ln 3], head 1 sees equal scores.
  const q2 = matrix(2, 2, Float64Array.of(Math.log(3), 0, 0, 0))
  const k2 = matrix(2, 2, Float64Array.of(0, 5, 1, 5))
  const v2 = matrix(2, 2, Float64Array.of(1, 10, 0, 20))
  const context = selfAttention(q2, k2, v2, [1, 1], 2)
  expect(context.data[0]).toBeCloseTo(0.25, 14)
  expect(context.data[1]).toBeCloseTo(15, 12)
})
