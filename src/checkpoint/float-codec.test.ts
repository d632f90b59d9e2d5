// Proves the checkpoint byte codecs: encoding float32 to float16/bfloat16 bytes (whole or in
// blocks) gives the shared conversion's bits, and both decoders turn every stored dtype into the
// same float32 values. The bit conversions themselves are proved in src/tensor/float16.test.ts.
import { describe, expect, test } from "bun:test"
import { type DType, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from "../tensor/index.ts"
import { decodeIntoFloat32, decodeToFloat32, encodeFloat32As, encodeFloat32Blocks } from "./float-codec.ts"
import { seededValues } from "./testing/fixtures.ts"

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
const concat = (pieces: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of pieces) {
    out.set(p, at)
    at += p.length
  }
  return out
}

describe("encodeFloat32As", () => {
  // Seeded values with ties, subnormals, overflow and NaN mixed in, read from an offset.
  const values = new Float32Array([0, ...seededValues(3, 997), 1 + 2 ** -11, 2 ** -25, 3 * 2 ** -25, 65520, -1e10, NaN, -0]).subarray(1)

  test("float16 and bfloat16 bytes are the shared conversion's bits, little-endian", () => {
    expect(encodeFloat32As(values, "float16")).toEqual(bytesOf(float32ToFloat16(values)))
    expect(encodeFloat32As(values, "bfloat16")).toEqual(bytesOf(float32ToBfloat16(values)))
    expect(Array.from(encodeFloat32As(new Float32Array([1, -2]), "float16"))).toEqual([0x00, 0x3c, 0x00, 0xc0])
  })

  test("float32 is a view of the values' own bytes", () => {
    const bytes = encodeFloat32As(values, "float32")
    expect(bytes.buffer).toBe(values.buffer)
    expect(bytes.byteOffset).toBe(4)
    expect(bytes.byteLength).toBe(values.byteLength)
  })

  test("blocks of any size concatenate to the whole encoding", () => {
    for (const dtype of ["float16", "bfloat16"] as const) {
      const blocks = [...encodeFloat32Blocks(values, dtype, 100)]
      expect(blocks.map((b) => b.length)).toEqual([...Array.from({ length: 10 }, () => 200), 8])
      expect(concat(blocks)).toEqual(encodeFloat32As(values, dtype))
    }
    expect([...encodeFloat32Blocks(values, "float32", 100)].length).toBe(1)
  })
})

describe("decodeToFloat32 / decodeIntoFloat32", () => {
  const halves = Uint16Array.from({ length: 4096 }, (_, i) => i * 16 + (i % 16))
  const cases: [DType, ArrayBufferView, number[]][] = [
    ["float32", new Float32Array([1.5, -2, 2 ** -149]), [1.5, -2, 2 ** -149]],
    ["float16", new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7c00]), [1, -2, 2 ** -24, Infinity]],
    ["bfloat16", new Uint16Array([0x3f80, 0xc000, 0x0001, 0xff80]), [1, -2, 2 ** -133, -Infinity]],
    ["float64", new Float64Array([1.5, -0.1, 1e300]), [1.5, Math.fround(-0.1), Infinity]],
    ["int64", new BigInt64Array([-3n, 2n ** 40n]), [-3, 2 ** 40]],
    ["int32", new Int32Array([-7, 123456]), [-7, 123456]],
    ["int16", new Int16Array([-32768, 5]), [-32768, 5]],
    ["int8", new Int8Array([-128, 127]), [-128, 127]],
    ["uint8", new Uint8Array([0, 255]), [0, 255]],
    ["bool", new Uint8Array([1, 0]), [1, 0]],
  ]

  test("decode every dtype to the same float32 values, allocating or into a caller's buffer", () => {
    for (const [dtype, stored, want] of cases) {
      const buffer = stored.buffer as ArrayBuffer
      expect([dtype, Array.from(decodeToFloat32(buffer, dtype, want.length))]).toEqual([dtype, want])
      const target = new Float32Array(want.length + 2).fill(42)
      decodeIntoFloat32(buffer, dtype, want.length, target.subarray(1, 1 + want.length))
      expect([dtype, Array.from(target)]).toEqual([dtype, [42, ...want, 42]])
    }
  })

  test("float16 decoding is the shared conversion, bit for bit", () => {
    const want = Array.from(new Uint32Array(float16ToFloat32(halves).buffer))
    expect(Array.from(new Uint32Array(decodeToFloat32(halves.slice().buffer, "float16", halves.length).buffer))).toEqual(want)
    const target = new Float32Array(halves.length)
    decodeIntoFloat32(halves.slice().buffer, "float16", halves.length, target)
    expect(Array.from(new Uint32Array(target.buffer))).toEqual(want)
  })
})
