// Proves readFloat32Into, the streaming read both readers offer: whole and chunked reads equal
// readFloat32 for every stored dtype (one suite run against safetensors and torch files), at
// misaligned offsets and across decode blocks, and bad ranges or closed files are clear errors.
import { afterAll, describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { type LazyTensor, readFloat32Range } from "../tensor/index.ts"
import { writeZip } from "../zip/index.ts"
import { CheckpointError } from "./errors.ts"
import { PyGlobal, PyPersistent, PyReduce, PyTuple, pickleProtocol2 } from "./pickle-writer.ts"
import { readSafetensors } from "./safetensors.ts"
import { writeSafetensors } from "./safetensors-writer.ts"
import type { TensorCollection } from "./sharded-index.ts"
import type { TensorSource } from "./tensor-source.ts"
import { catchError, makeTempDir, seededSource } from "./testing/fixtures.ts"
import { readTorchStateDict } from "./torch.ts"
import { writeTorchStateDict } from "./torch-writer.ts"

const { dir, cleanup } = makeTempDir("range-read")
afterAll(cleanup)

/** 70 000 elements: more than one 65 536-element decode block for the 16-bit dtypes. */
const sources: TensorSource[] = [
  seededSource("f32", "float32", [70, 1000], 1),
  seededSource("f16", "float16", [70_000], 2),
  seededSource("bf16", "bfloat16", [350, 200], 3),
  seededSource("small", "float32", [3], 4),
  seededSource("empty", "float32", [0, 8], 5),
]

/** Reads `tensor` through readFloat32Into in pieces of `piece` elements into one reused buffer. */
const readInPieces = (tensor: LazyTensor, piece: number): Float32Array => {
  const count = tensor.shape.reduce((a, b) => a * b, 1)
  const out = new Float32Array(count)
  const buffer = new Float32Array(piece)
  for (let start = 0; start < count; start += piece) {
    const target = buffer.subarray(0, Math.min(piece, count - start))
    tensor.readFloat32Into!(target, start)
    out.set(target, start)
  }
  return out
}


const readers: readonly (readonly [string, () => TensorCollection])[] = [
  [
    "safetensors",
    () => {
      const path = join(dir, "model.safetensors")
      writeSafetensors(path, sources)
      return readSafetensors(path)
    },
  ],
  [
    "torch",
    () => {
      const path = join(dir, "pytorch_model.bin")
      writeTorchStateDict(path, sources)
      return readTorchStateDict(path)
    },
  ],
]

for (const [label, open] of readers) {
  describe(`readFloat32Into (${label})`, () => {
    test("whole and chunked reads equal readFloat32 for float32, float16 and bfloat16", () => {
      const checkpoint = open()
      try {
        for (const source of sources) {
          const tensor = checkpoint.tensors.get(source.name)!
          const expected = new Float32Array(tensor.readFloat32())
          const whole = new Float32Array(expected.length).fill(Number.NaN)
          tensor.readFloat32Into!(whole)
          expect({ name: source.name, values: whole }).toEqual({ name: source.name, values: expected })
          for (const piece of [997, 65_537])
            expect({ name: source.name, piece, values: readInPieces(tensor, piece) }).toEqual({ name: source.name, piece, values: expected })
        }
      } finally {
        checkpoint.close()
      }
    })

    test("a range into the middle of a larger buffer leaves the rest of it alone", () => {
      const checkpoint = open()
      try {
        const tensor = checkpoint.tensors.get("f16")!
        const buffer = new Float32Array(10).fill(-7)
        tensor.readFloat32Into!(buffer.subarray(3, 8), 65_534)
        expect(Array.from(buffer.subarray(0, 3))).toEqual([-7, -7, -7])
        expect(buffer.subarray(3, 8)).toEqual(new Float32Array(tensor.readFloat32().subarray(65_534, 65_539)))
        expect(Array.from(buffer.subarray(8))).toEqual([-7, -7])
      } finally {
        checkpoint.close()
      }
    })

    test("a range outside the tensor or a bad start is InvalidInput naming the tensor; after close it is Closed", () => {
      const checkpoint = open()
      const tensor = checkpoint.tensors.get("small")!
      for (const [start, length] of [[0, 4], [2, 2], [-1, 1], [0.5, 1]] as const) {
        const error = catchError(() => tensor.readFloat32Into!(new Float32Array(length), start))
        expect(error).toBeInstanceOf(CheckpointError)
        expect((error as CheckpointError).reason).toBe("InvalidInput")
        expect(error.message).toMatch(/tensor "small"\): cannot read elements \[.*\): the tensor has 3/)
      }
      checkpoint.close()
      expect((catchError(() => tensor.readFloat32Into!(new Float32Array(3))) as CheckpointError).reason).toBe("Closed")
    })
  })
}

describe("readFloat32Into (safetensors, every dtype)", () => {
  test("integer, float64 and bool tensors at odd file offsets decode as readFloat32 does", () => {
    const cases: readonly (readonly [string, Uint8Array])[] = [
      ["F64", new Uint8Array(Float64Array.from([1.5, -2.25, 1e300, 3]).buffer)],
      ["I64", new Uint8Array(BigInt64Array.from([-3n, 2n ** 40n, 0n, 7n]).buffer)],
      ["I32", new Uint8Array(Int32Array.from([-3, 2 ** 30, 0, 7]).buffer)],
      ["I16", new Uint8Array(Int16Array.from([-3, 300, 0, 7]).buffer)],
      ["I8", new Uint8Array(Int8Array.from([-3, 100, 0, 7]).buffer)],
      ["U8", Uint8Array.from([3, 200, 0, 7])],
      ["BOOL", Uint8Array.from([1, 0, 0, 1])],
    ]
    // One leading byte puts every tensor at an odd offset in the file.
    const header: Record<string, unknown> = {}
    const parts: Uint8Array[] = [Uint8Array.from([0])]
    let offset = 1
    header.pad = { dtype: "U8", shape: [1], data_offsets: [0, 1] }
    for (const [dtype, bytes] of cases) {
      header[dtype] = { dtype, shape: [2, 2], data_offsets: [offset, offset + bytes.byteLength] }
      parts.push(bytes)
      offset += bytes.byteLength
    }
    const json = new TextEncoder().encode(JSON.stringify(header))
    const prefix = Buffer.alloc(8)
    prefix.writeBigUInt64LE(BigInt(json.length))
    const path = join(dir, "dtypes.safetensors")
    writeFileSync(path, Buffer.concat([prefix, json, ...parts]))
    const file = readSafetensors(path)
    try {
      for (const [dtype] of cases) {
        const tensor = file.tensors.get(dtype)!
        const expected = new Float32Array(tensor.readFloat32())
        const target = new Float32Array(4)
        tensor.readFloat32Into!(target)
        expect({ dtype, values: target }).toEqual({ dtype, values: expected })
        const tail = new Float32Array(3)
        tensor.readFloat32Into!(tail, 1)
        expect({ dtype, values: tail }).toEqual({ dtype, values: expected.subarray(1) })
      }
    } finally {
      file.close()
    }
  })
})

describe("readFloat32Into (torch views)", () => {
  const orderedDict = new PyGlobal("collections", "OrderedDict")
  const view = (offset: number, size: number[], stride: number[]): PyReduce =>
    new PyReduce(
      new PyGlobal("torch._utils", "_rebuild_tensor_v2"),
      new PyTuple([
        new PyPersistent(new PyTuple(["storage", new PyGlobal("torch", "FloatStorage"), "0", "cpu", 12])),
        offset,
        new PyTuple(size),
        new PyTuple(stride),
        false,
        new PyReduce(orderedDict, new PyTuple([])),
      ]),
    )

  test("a contiguous view at a storage offset streams its own elements; a strided view falls back to readFloat32", () => {
    const path = join(dir, "views.bin")
    const storage = Float32Array.from({ length: 12 }, (_, i) => i * 10)
    const pickle = pickleProtocol2(
      new PyReduce(orderedDict, new PyTuple([]), [
        ["offset", view(5, [2, 3], [3, 1])],
        ["transposed", view(0, [3, 4], [1, 3])],
      ]),
    )
    writeZip(path, [
      { name: "archive/data.pkl", data: pickle },
      { name: "archive/data/0", data: new Uint8Array(storage.buffer) },
    ], { align: 64 })
    const checkpoint = readTorchStateDict(path)
    try {
      const offset = checkpoint.tensors.get("offset")!
      const target = new Float32Array(4)
      offset.readFloat32Into!(target, 2)
      expect(Array.from(target)).toEqual([70, 80, 90, 100])
      const transposed = checkpoint.tensors.get("transposed")!
      expect(transposed.readFloat32Into).toBeUndefined()
      const row = new Float32Array(4)
      readFloat32Range(transposed, row, 4) // second row of the [3, 4] view: storage[1 + 3j]
      expect(Array.from(row)).toEqual([10, 40, 70, 100])
    } finally {
      checkpoint.close()
    }
  })
})
