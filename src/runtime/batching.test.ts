// planBatches and gatherRows: longest-first stable ordering, batch limits, re-padding rows cut
// from a bigger batch, and filling a fixed batch dimension.
import { describe, expect, test } from "bun:test"
import type { TokenBatch } from "../tokenize/index.ts"
import { gatherRows, longestRow, planBatches } from "./batching.ts"
import { RuntimeError } from "./errors.ts"

describe("planBatches", () => {
  test("sorted: longest first, ties in input order, every index exactly once", () => {
    expect(planBatches([3, 9, 3, 1, 9, 5], 4, true)).toEqual([[1, 4, 5, 0], [2, 3]])
  })
  test("unsorted keeps the order", () => {
    expect(planBatches([3, 9, 3], 2, false)).toEqual([[0, 1], [2]])
  })
  test("a batch size below 1 is an error naming the option", () => {
    expect(() => planBatches([1], 0, true)).toThrow(RuntimeError)
    expect(() => planBatches([1], 1.5, true)).toThrow(`option "batchSize": 1.5`)
  })
})

describe("gatherRows", () => {
  // Three rows padded to 4 with pad id 0: lengths 2, 4, 3.
  const source: TokenBatch = {
    dims: [3, 4],
    inputIds: Int32Array.from([5, 6, 0, 0, 7, 8, 9, 10, 11, 12, 13, 0]),
    attentionMask: Int32Array.from([1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0]),
    tokenTypeIds: Int32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 0]),
    lengths: Int32Array.from([2, 4, 3]),
  }

  test("picks rows in the given order and pads them to the requested length", () => {
    const packed = gatherRows(source, [2, 0], longestRow(source, [2, 0]), 0)
    expect(packed.dims).toEqual([2, 3])
    expect(Array.from(packed.inputIds)).toEqual([11, 12, 13, 5, 6, 0])
    expect(Array.from(packed.attentionMask)).toEqual([1, 1, 1, 1, 1, 0])
    expect(Array.from(packed.tokenTypeIds)).toEqual([0, 1, 1, 0, 0, 0])
    expect(Array.from(packed.lengths)).toEqual([3, 2])
  })

  test("pads with the tokenizer's pad id to a static length", () => {
    const packed = gatherRows(source, [0], 6, 1)
    expect(Array.from(packed.inputIds)).toEqual([5, 6, 1, 1, 1, 1])
    expect(Array.from(packed.attentionMask)).toEqual([1, 1, 0, 0, 0, 0])
  })

  test("fills a fixed batch dimension by repeating the first row", () => {
    const packed = gatherRows(source, [1], 4, 0, 2)
    expect(packed.dims).toEqual([2, 4])
    expect(Array.from(packed.inputIds)).toEqual([7, 8, 9, 10, 7, 8, 9, 10])
  })
})
