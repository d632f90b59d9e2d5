// Proves the streaming |x| histogram: exact counts, exact merging when the range grows, zeros
// before any range, and non-finite values kept out; plus the RangeObserver it sits beside.

import { describe, expect, test } from "bun:test"
import { AbsHistogram } from "./abs-histogram.ts"
import { RangeObserver } from "./range-observer.ts"
import { QuantError } from "./quant-error.ts"

describe("AbsHistogram", () => {
  test("counts |x| into equal bins over [0, max|x|], the maximum in the last bin", () => {
    const h = new AbsHistogram(4)
    h.observe(new Float32Array([0, -0.5, 1.5, -2.5, 3.9, 4, -4]))
    expect(h.range).toBe(4)
    expect([...h.counts]).toEqual([2, 1, 1, 3])
    expect(h.total).toBe(7)
    expect(h.min).toBe(-4)
    expect(h.max).toBe(4)
  })

  test("a larger batch widens bins by a whole factor and merges old counts exactly", () => {
    const h = new AbsHistogram(8)
    const first = new Float32Array([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, -8])
    const second = new Float32Array([-10.5, 12, 19.5, 20])
    h.observe(first)
    expect(h.binWidth).toBe(1)
    h.observe(second)
    // ceil(20 / 8) = 3: width 3, range 24; every value lands where width-3 binning puts it.
    expect(h.binWidth).toBe(3)
    const direct = new Array<number>(8).fill(0)
    for (const v of [...first, ...second]) direct[Math.min(7, Math.floor(Math.abs(v) / 3))]! += 1
    expect([...h.counts]).toEqual(direct)
    expect(h.total).toBe(first.length + second.length)
  })

  test("a batch with the same maximum never widens the bins", () => {
    const h = new AbsHistogram(2048)
    const data = new Float32Array([0.1, -0.7, 0.30000001192092896])
    for (let i = 0; i < 5; i++) h.observe(data)
    expect(h.range).toBe(Math.fround(0.7))
  })

  test("zeros seen before any non-zero value stay in bin 0", () => {
    const h = new AbsHistogram(4)
    h.observe(new Float32Array([0, 0, -0]))
    expect(h.range).toBe(0)
    h.observe(new Float32Array([8, 1]))
    expect([...h.counts]).toEqual([4, 0, 0, 1])
  })

  test("NaN and ±inf are counted apart and change neither range nor bins", () => {
    const h = new AbsHistogram(4)
    h.observe(new Float32Array([1, NaN, -Infinity, 2, Infinity]))
    expect(h.nonFinite).toBe(3)
    expect(h.total).toBe(2)
    expect(h.range).toBe(2)
    expect([...h.counts]).toEqual([0, 0, 1, 1])
  })

  test("rejects a bin count below 2", () => {
    expect(() => new AbsHistogram(1)).toThrow(QuantError)
    expect(() => new AbsHistogram(1)).toThrow(/bins/)
  })
})

describe("RangeObserver", () => {
  test("min and max are exact across batches and skip non-finite values", () => {
    const r = new RangeObserver()
    r.observe(new Float32Array([0.25, -3, 2]))
    r.observe(new Float32Array([NaN, 7.5, -Infinity]))
    r.observe(new Float32Array([-3.5]))
    expect([r.min, r.max, r.count, r.nonFinite]).toEqual([-3.5, 7.5, 5, 2])
  })
})
