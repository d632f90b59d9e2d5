// Per-channel min and max over the last axis, across batches, with non-finite values counted apart.

import { expect, test } from "bun:test"
import { channelAbsMax, ChannelRanges } from "./channel-ranges.ts"
import { QuantError } from "./quant-error.ts"

test("keeps each last-axis channel's min and max across batches and skips NaN/inf", () => {
  const c = new ChannelRanges()
  c.observe("x", Float32Array.of(1, -5, 0.5, -2, 3, NaN), [1, 2, 3])
  c.observe("x", Float32Array.of(-4, 1, Infinity), [1, 1, 3])
  const range = c.result("x")
  expect([...range.min]).toEqual([-4, -5, 0.5])
  expect([...range.max]).toEqual([1, 3, 0.5])
  expect([...channelAbsMax(range)]).toEqual([4, 5, 0.5])
  expect(c.nonFiniteCount("x")).toBe(2)
})

test("a channel that never held a finite value reports 0, not ±Infinity", () => {
  const c = new ChannelRanges()
  c.observe("x", Float32Array.of(NaN, 2), [1, 2])
  expect([...c.result("x").min]).toEqual([0, 2])
  expect([...c.result("x").max]).toEqual([0, 2])
})

test("a channel count that changes between batches, or was never observed, is an error naming the tensor", () => {
  const c = new ChannelRanges()
  c.observe("x", new Float32Array(6), [2, 3])
  expect(() => c.observe("x", new Float32Array(4), [2, 2])).toThrow(QuantError)
  expect(() => c.observe("y", new Float32Array(5), [2, 3])).toThrow(/y: per-channel statistics/)
  expect(() => c.result("z")).toThrow(/z: this tensor was never observed/)
})
