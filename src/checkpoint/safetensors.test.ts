// Proves the safetensors reader: exact round trips with the writer (F32/F16/BF16, sharded),
// misaligned offsets, and a clear CheckpointError for every malformed header or truncated file.
import { afterAll, describe, expect, test } from "bun:test"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { float16ToFloat32 } from "../tensor/index.ts"
import { CheckpointError } from "./errors.ts"
import { readSafetensors, readShardedSafetensors } from "./safetensors.ts"
import { writeSafetensors } from "./safetensors-writer.ts"
import { makeTempDir, seededSource, seededValues } from "./testing/fixtures.ts"

const { dir, cleanup } = makeTempDir("safetensors")
afterAll(cleanup)

/** A safetensors file from a header object and raw data bytes, for malformed cases. */
const craft = (name: string, header: unknown, data: Uint8Array, headerLength?: bigint): string => {
  const json = new TextEncoder().encode(JSON.stringify(header))
  const prefix = Buffer.alloc(8)
  prefix.writeBigUInt64LE(headerLength ?? BigInt(json.length))
  const path = join(dir, name)
  writeFileSync(path, Buffer.concat([prefix, json, data]))
  return path
}

const expectCheckpointError = (run: () => unknown, reason: string, pattern: RegExp): void => {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError)
    expect((error as CheckpointError).reason).toBe(reason as CheckpointError["reason"])
    expect((error as Error).message).toMatch(pattern)
    return
  }
  throw new Error("expected a CheckpointError")
}

/** Every finite and infinite float16 value (all 65536 bit patterns minus NaNs), as float32. */
const allFloat16Values = (): Float32Array => {
  const bits = new Uint16Array(65536).map((_, i) => i)
  return float16ToFloat32(bits).filter((v) => !Number.isNaN(v))
}

describe("readSafetensors", () => {
  test("F32, F16 and BF16 round trip exactly, including subnormals, ±0 and ±inf", () => {
    const path = join(dir, "roundtrip.safetensors")
    const halves = allFloat16Values()
    // bfloat16-representable values: float32 bit patterns with the low 16 bits clear.
    const bfloats = new Float32Array(new Uint32Array(4096).map((_, i) => ((i * 16 + 1) << 16) >>> 0).buffer).filter((v) => !Number.isNaN(v))
    const floats = seededValues(5, 1000)
    writeSafetensors(path, [
      { name: "h", dtype: "float16", shape: [halves.length], values: () => halves },
      { name: "b", dtype: "bfloat16", shape: [bfloats.length], values: () => bfloats },
      { name: "f", dtype: "float32", shape: [10, 100], values: () => floats },
    ], { metadata: { producer: "kiln-test" } })
    const file = readSafetensors(path)
    try {
      expect(file.metadata).toEqual({ producer: "kiln-test", format: "pt" })
      const f = file.tensors.get("f")!
      expect([f.dtype, f.shape]).toEqual(["float32", [10, 100]])
      expect(f.readFloat32()).toEqual(floats)
      expect(file.tensors.get("h")!.dtype).toBe("float16")
      expect(file.tensors.get("h")!.readFloat32()).toEqual(halves)
      expect(file.tensors.get("b")!.readFloat32()).toEqual(bfloats)
    } finally {
      file.close()
    }
  })

  test("F16 and BF16 writes round to nearest even", () => {
    const path = join(dir, "rounding.safetensors")
    const values = new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65519, 65520, 2 ** -25, 2 ** -25 * 1.5, 1e-30, -0])
    writeSafetensors(path, [
      { name: "h", dtype: "float16", shape: [values.length], values: () => values },
      { name: "b", dtype: "bfloat16", shape: [3], values: () => new Float32Array([1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.4e38]) },
    ])
    const file = readSafetensors(path)
    expect(Array.from(file.tensors.get("h")!.readFloat32())).toEqual([1, 1 + 2 ** -9, 65504, Infinity, 0, 2 ** -24, 0, -0])
    expect(Array.from(file.tensors.get("b")!.readFloat32())).toEqual([1, 1 + 2 ** -6, Infinity])
    file.close()
  })

  test("a tensor at a misaligned offset is copied out, not viewed", () => {
    const half = new Uint8Array(new Uint16Array([0x3c00, 0x4000, 0xc000]).buffer) // 1, 2, -2
    const floats = new Float32Array([1.5, -2.25, 3e-3])
    const path = craft(
      "misaligned.safetensors",
      { h: { dtype: "F16", shape: [3], data_offsets: [0, 6] }, f: { dtype: "F32", shape: [3], data_offsets: [6, 18] } },
      Buffer.concat([half, new Uint8Array(floats.buffer)]),
    )
    const file = readSafetensors(path)
    expect(Array.from(file.tensors.get("h")!.readFloat32())).toEqual([1, 2, -2])
    expect(file.tensors.get("f")!.readFloat32()).toEqual(floats)
    file.close()
  })

  test("I64, I32 and U8 tensors decode to float32", () => {
    const data = Buffer.concat([
      new Uint8Array(new BigInt64Array([0n, 1n, 511n]).buffer),
      new Uint8Array(new Int32Array([-7, 9]).buffer),
      new Uint8Array([255]),
    ])
    const path = craft(
      "ints.safetensors",
      {
        position_ids: { dtype: "I64", shape: [1, 3], data_offsets: [0, 24] },
        i: { dtype: "I32", shape: [2], data_offsets: [24, 32] },
        u: { dtype: "U8", shape: [1], data_offsets: [32, 33] },
      },
      data,
    )
    const file = readSafetensors(path)
    expect(Array.from(file.tensors.get("position_ids")!.readFloat32())).toEqual([0, 1, 511])
    expect(Array.from(file.tensors.get("i")!.readFloat32())).toEqual([-7, 9])
    expect(Array.from(file.tensors.get("u")!.readFloat32())).toEqual([255])
    file.close()
  })

  test("reading after close is a Closed error naming the tensor", () => {
    const path = join(dir, "closed.safetensors")
    writeSafetensors(path, [seededSource("w", "float32", [2], 1)])
    const file = readSafetensors(path)
    file.close()
    expectCheckpointError(() => file.tensors.get("w")!.readFloat32(), "Closed", /tensor "w"/)
  })
})

describe("readSafetensors rejects bad files", () => {
  test("a truncated file (data cut short) names the file and the tensor", () => {
    const path = join(dir, "truncated.safetensors")
    writeSafetensors(path, [seededSource("a", "float32", [100], 1), seededSource("b", "float32", [100], 2)])
    const bytes = readFileSync(path)
    writeFileSync(path, bytes.subarray(0, bytes.length - 10))
    expectCheckpointError(() => readSafetensors(path), "Truncated", /truncated\.safetensors \(tensor "b"\): data_offsets \[400, 800\] are out of range/)
  })

  test("a file shorter than the length field is truncated", () => {
    const path = join(dir, "tiny.safetensors")
    writeFileSync(path, new Uint8Array(5))
    expectCheckpointError(() => readSafetensors(path), "Truncated", /tiny\.safetensors: the file is 5 bytes/)
  })

  test("header offsets out of range", () => {
    const path = craft("range.safetensors", { w: { dtype: "F32", shape: [2], data_offsets: [8, 16] } }, new Uint8Array(12))
    expectCheckpointError(() => readSafetensors(path), "Truncated", /tensor "w".*\[8, 16\] are out of range: the data section holds only 12 bytes/)
  })

  test("overlapping tensors name both", () => {
    const path = craft(
      "overlap.safetensors",
      { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } },
      new Uint8Array(12),
    )
    expectCheckpointError(() => readSafetensors(path), "InvalidTensor", /tensor "b".*overlap those of "a"/)
  })

  test("an unknown dtype names the dtype and the tensor", () => {
    const path = craft("dtype.safetensors", { w: { dtype: "F8_E4M3", shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2))
    expectCheckpointError(() => readSafetensors(path), "UnsupportedDType", /tensor "w".*dtype "F8_E4M3" is not supported/)
  })

  test("an absurd header length is refused before allocating", () => {
    const path = craft("absurd.safetensors", {}, new Uint8Array(0), 2n ** 40n)
    expectCheckpointError(() => readSafetensors(path), "InvalidHeader", /absurd\.safetensors: header length 1099511627776 is absurd/)
  })

  test("a header length past the end of the file is truncated", () => {
    const path = craft("long-header.safetensors", {}, new Uint8Array(0), 5000n)
    expectCheckpointError(() => readSafetensors(path), "Truncated", /header length 5000 exceeds/)
  })

  test("shape × dtype different from the byte length", () => {
    const path = craft("shape.safetensors", { w: { dtype: "F16", shape: [3, 2], data_offsets: [0, 8] } }, new Uint8Array(8))
    expectCheckpointError(() => readSafetensors(path), "InvalidTensor", /tensor "w".*shape \[3, 2\] of F16 needs 12 bytes but .* span 8/)
  })

  test("a mistyped header entry names the field", () => {
    const path = craft("mistyped.safetensors", { w: { dtype: "F32", shape: ["2"], data_offsets: [0, 8] } }, new Uint8Array(8))
    expectCheckpointError(() => readSafetensors(path), "InvalidHeader", /mistyped\.safetensors \(tensor "w"\): shape\[0\] must be an integer, got "2"$/)
    const negative = craft("negative.safetensors", { w: { dtype: "F32", shape: [2], data_offsets: [-1, 8] } }, new Uint8Array(8))
    expectCheckpointError(() => readSafetensors(negative), "InvalidHeader", /\(tensor "w"\): data_offsets\[0\] must be a non-negative integer, got -1$/)
    const metadata = craft("metadata.safetensors", { __metadata__: { version: 2 } }, new Uint8Array(0))
    expectCheckpointError(() => readSafetensors(metadata), "InvalidHeader", /metadata\.safetensors: __metadata__\.version must be a string, got 2$/)
  })

  test("a header that is not JSON", () => {
    const path = join(dir, "garbage.safetensors")
    const prefix = Buffer.alloc(8)
    prefix.writeBigUInt64LE(4n)
    writeFileSync(path, Buffer.concat([prefix, Buffer.from("{{{{")]))
    expectCheckpointError(() => readSafetensors(path), "InvalidHeader", /garbage\.safetensors: the header is not valid UTF-8 JSON/)
  })

  test("a tensor name with a `..` segment or an absolute path is refused like a dot-dot zip entry", () => {
    for (const [file, name, why] of [
      ["dotdot.safetensors", "../../etc/passwd", /`\.\.` segment/],
      ["absolute.safetensors", "/etc/passwd", /absolute path/],
    ] as const) {
      const path = craft(file, { ok: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, [name]: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8))
      expectCheckpointError(() => readSafetensors(path), "InvalidTensor", new RegExp(`${file.replace(".", "\\.")} \\(tensor "${name.replace(/\./g, "\\.")}"\\): .*${why.source}`))
    }
  })

  test("a missing file is NotFound", () => {
    expectCheckpointError(() => readSafetensors(join(dir, "missing.safetensors")), "NotFound", /missing\.safetensors/)
  })
})

describe("readShardedSafetensors", () => {
  test("tensors come from the shard the weight_map names, in weight_map order", () => {
    writeSafetensors(join(dir, "model-00001-of-00002.safetensors"), [seededSource("a", "float32", [3], 1), seededSource("b", "float16", [2], 2)])
    writeSafetensors(join(dir, "model-00002-of-00002.safetensors"), [seededSource("c", "bfloat16", [4], 3)])
    const index = join(dir, "model.safetensors.index.json")
    writeFileSync(
      index,
      JSON.stringify({
        metadata: { total_size: 24 },
        weight_map: { c: "model-00002-of-00002.safetensors", a: "model-00001-of-00002.safetensors", b: "model-00001-of-00002.safetensors" },
      }),
    )
    const sharded = readShardedSafetensors(index)
    try {
      expect([...sharded.tensors.keys()]).toEqual(["c", "a", "b"])
      expect(sharded.tensors.get("a")!.readFloat32()).toEqual(seededValues(1, 3))
      expect(sharded.tensors.get("c")!.dtype).toBe("bfloat16")
    } finally {
      sharded.close()
    }
  })

  test("a shard path outside the folder or a tensor missing from its shard is an error naming the index", () => {
    const index = join(dir, "bad.index.json")
    writeFileSync(index, JSON.stringify({ weight_map: { a: "../elsewhere.safetensors" } }))
    expectCheckpointError(() => readShardedSafetensors(index), "InvalidHeader", /bad\.index\.json \(tensor "a"\): shard "\.\.\/elsewhere\.safetensors"/)
    writeFileSync(index, JSON.stringify({ weight_map: { zzz: "model-00001-of-00002.safetensors" } }))
    expectCheckpointError(() => readShardedSafetensors(index), "InvalidHeader", /tensor "zzz".*lacks it/)
    writeFileSync(index, JSON.stringify({ weight_map: [] }))
    expectCheckpointError(() => readShardedSafetensors(index), "InvalidHeader", /bad\.index\.json: weight_map must be an object, got an empty array$/)
    writeFileSync(index, "{ weight_map")
    expectCheckpointError(() => readShardedSafetensors(index), "InvalidHeader", /bad\.index\.json: the shard index is not valid JSON/)
  })
})
