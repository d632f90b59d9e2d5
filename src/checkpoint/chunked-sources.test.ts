// Proves that both checkpoint writers take a TensorSource's `chunks` over its `values`: pieces
// through one reused buffer give byte-identical files (float32 and float16), and pieces that do not
// add up to the shape are an InvalidInput error naming the tensor, with no file left behind.
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { CheckpointError } from "./errors.ts"
import { writeSafetensors } from "./safetensors-writer.ts"
import type { TensorSource, WritableDType } from "./tensor-source.ts"
import { makeTempDir, seededValues } from "./testing/fixtures.ts"
import { writeTorchStateDict } from "./torch-writer.ts"

const { dir, cleanup } = makeTempDir("chunked-sources")
afterAll(cleanup)

/** `values` handed out in pieces of `piece` elements through one buffer, refilled with NaN after use. */
const chunkedSource = (name: string, dtype: WritableDType, shape: number[], values: Float32Array, piece: number): TensorSource => ({
  name,
  dtype,
  shape,
  values: () => {
    throw new Error("a writer read the whole values although chunks were given")
  },
  chunks: function* () {
    const buffer = new Float32Array(piece)
    for (let start = 0; start < values.length; start += piece) {
      const view = buffer.subarray(0, Math.min(piece, values.length - start))
      view.set(values.subarray(start, start + view.length))
      yield view
      view.fill(Number.NaN)
    }
  },
})

const writers = [
  ["safetensors", writeSafetensors],
  ["torch", writeTorchStateDict],
] as const

for (const [label, write] of writers) {
  describe(`${label} writer with chunked sources`, () => {
    test("chunked sources write the same bytes as whole ones (float32 and float16)", () => {
      const a = seededValues(1, 5000)
      const b = seededValues(2, 777)
      const whole: TensorSource[] = [
        { name: "a", dtype: "float32", shape: [50, 100], values: () => a },
        { name: "b", dtype: "float16", shape: [777], values: () => b },
      ]
      const chunked = [chunkedSource("a", "float32", [50, 100], a, 999), chunkedSource("b", "float16", [777], b, 100)]
      // Same file name in two folders: the torch archive is named after the file.
      const [wholePath, chunkedPath] = ["whole", "chunked"].map((kind) => join(dir, kind, `weights-${label}.bin`)) as [string, string]
      mkdirSync(dirname(wholePath), { recursive: true })
      mkdirSync(dirname(chunkedPath), { recursive: true })
      write(wholePath, whole)
      write(chunkedPath, chunked)
      expect(readFileSync(chunkedPath).equals(readFileSync(wholePath))).toBe(true)
    })

    test("chunks holding too few or too many values are InvalidInput naming the tensor, leaving no file", () => {
      for (const [count, held] of [[9, "9"], [11, "more"]] as const) {
        const path = join(dir, `bad-${label}-${count}`)
        let error: unknown
        try {
          write(path, [{ name: "w", dtype: "float32", shape: [10], values: () => new Float32Array(10), chunks: () => [new Float32Array(count)] }])
        } catch (caught) {
          error = caught
        }
        expect(error).toBeInstanceOf(CheckpointError)
        expect((error as CheckpointError).reason).toBe("InvalidInput")
        expect((error as Error).message).toContain(`(tensor "w"): shape [10] needs 10 values, its chunks hold ${held}`)
        expect(existsSync(path)).toBe(false)
      }
    })
  })
}
