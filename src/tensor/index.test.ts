// Proves readFloat32Range, the one way callers use the optional readFloat32Into: it delegates
// when a tensor has the method, copies the range out of readFloat32 when it has not, and refuses
// ranges outside the tensor with a TensorRangeError naming it.
import { describe, expect, test } from "bun:test"
import { type LazyTensor, readFloat32Range, TensorRangeError } from "./index.ts"

const values = Float32Array.from({ length: 12 }, (_, i) => i + 0.5)
const wholeOnly: LazyTensor = { name: "plain", dtype: "float32", shape: [3, 4], readFloat32: () => values.slice() }

describe("readFloat32Range", () => {
  test("without readFloat32Into it copies the range out of readFloat32", () => {
    const target = new Float32Array(5)
    readFloat32Range(wholeOnly, target, 6)
    expect(Array.from(target)).toEqual([6.5, 7.5, 8.5, 9.5, 10.5])
    const whole = new Float32Array(12)
    readFloat32Range(wholeOnly, whole)
    expect(whole).toEqual(values)
  })

  test("with readFloat32Into it delegates (and does not read the whole tensor)", () => {
    const calls: [number, number][] = []
    const streaming: LazyTensor = {
      ...wholeOnly,
      readFloat32: () => {
        throw new Error("the whole tensor should not be read")
      },
      readFloat32Into: (target, start = 0) => {
        calls.push([start, target.length])
        target.set(values.subarray(start, start + target.length))
      },
    }
    const target = new Float32Array(4)
    readFloat32Range(streaming, target, 8)
    expect(Array.from(target)).toEqual([8.5, 9.5, 10.5, 11.5])
    expect(calls).toEqual([[8, 4]])
  })

  test("a range outside the tensor or a bad start is a TensorRangeError naming the tensor", () => {
    for (const [start, length] of [[0, 13], [9, 4], [-1, 2], [1.5, 2], [Number.NaN, 1]] as const) {
      expect(() => readFloat32Range(wholeOnly, new Float32Array(length), start)).toThrow(TensorRangeError)
      expect(() => readFloat32Range(wholeOnly, new Float32Array(length), start)).toThrow(/tensor "plain": elements .* are outside its 12 elements/)
    }
  })
})
