// Proves chunked initializers ({ chunks }): the writer streams the pieces to the same bytes a whole
// typed array gives (inline and external), pieces may reuse one buffer, a wrong total or a failing
// producer is an OnnxWriteError naming the tensor, and readers of the whole tensor concatenate.
import { afterAll, describe, expect, test } from "bun:test"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { GraphBuilder } from "./builder.ts"
import { OnnxBuildError, OnnxWriteError } from "./errors.ts"
import { initializerAsFloat32 } from "./inspect.ts"
import { readModel } from "./reader.ts"
import { readTensorBytes } from "./tensor-data.ts"
import { buildMlp, scratchDir, seededFloats } from "./test-support.ts"
import { writeModel } from "./writer.ts"

const scratch = scratchDir("chunked")
afterAll(scratch.cleanup)

/** Hands out `values` as raw bytes in pieces of `sizes` elements (cycled), all through one reused buffer. */
const reusedPieces = (values: Float32Array, sizes: readonly number[], calls: { count: number } = { count: 0 }) => ({
  chunks: function* () {
    calls.count++
    const buffer = new Float32Array(Math.max(...sizes))
    for (let start = 0, i = 0; start < values.length; i++) {
      const length = Math.min(sizes[i % sizes.length]!, values.length - start)
      const piece = buffer.subarray(0, length)
      piece.set(values.subarray(start, start + length))
      start += length
      yield new Uint8Array(piece.buffer, piece.byteOffset, piece.byteLength)
      piece.fill(Number.NaN) // a piece consumed late would show up as NaN in the output
    }
  },
})

const filesOf = (written: { modelPath: string; dataPath: string | undefined }) => ({
  onnx: readFileSync(written.modelPath),
  data: written.dataPath === undefined ? undefined : readFileSync(written.dataPath),
})

describe("chunked initializers", () => {
  test("chunked pieces through one reused buffer write the same bytes as whole arrays, inline and external", async () => {
    const calls = { count: 0 }
    const whole = buildMlp({ inFeatures: 64, outFeatures: 48, seed: 3 })
    const chunked = buildMlp({ inFeatures: 64, outFeatures: 48, seed: 3, wrap: (_, data) => reusedPieces(data, [1, 100, 7, 1000], calls) })
    expect(calls.count).toBe(0) // building reads nothing
    for (const [label, options] of [
      ["inline", { externalData: "never" }],
      ["external", { externalData: "always", externalMinBytes: 0, alignment: 64 }],
    ] as const) {
      const a = filesOf(await writeModel(whole.model, join(scratch.dir, `whole-${label}`), options))
      const b = filesOf(await writeModel(chunked.model, join(scratch.dir, `chunked-${label}`), options))
      expect(Buffer.compare(b.onnx, a.onnx)).toBe(0)
      expect(b.data === undefined ? undefined : Buffer.compare(b.data, a.data!)).toBe(a.data === undefined ? undefined : 0)
      const back = await readModel(join(scratch.dir, `chunked-${label}`, "model.onnx"))
      expect(initializerAsFloat32(back, "w")).toEqual(whole.weight)
      expect(initializerAsFloat32(back, "b")).toEqual(whole.bias)
    }
    expect(calls.count).toBe(4) // once per tensor per write
  })

  test("readTensorBytes gathers the pieces into one buffer", () => {
    const values = seededFloats(9, 1000)
    const g = new GraphBuilder({ name: "gather", opset: 17 })
    const x = g.input("x", "float32", [1000])
    g.output(g.op("Add", [x, g.initializer("t", "float32", [1000], reusedPieces(values, [333]))]), "float32", [1000])
    const tensor = g.build().graph.initializers[0]!
    expect(tensor.data.kind).toBe("chunks")
    expect(new Float32Array(readTensorBytes(tensor).buffer)).toEqual(values)
  })

  const modelWith = (name: string, chunks: () => Iterable<unknown>) => {
    const g = new GraphBuilder({ name: "bad", opset: 17 })
    const x = g.input("x", "float32", [4])
    g.output(g.op("Add", [x, g.initializer(name, "float32", [4], { chunks: chunks as () => Iterable<Uint8Array> })]), "float32", [4])
    return g.build()
  }

  test("too few bytes, too many bytes or a non-byte piece fail naming the tensor and leave no files", async () => {
    const cases = [
      ["short_weight", () => [new Uint8Array(12)], /"short_weight": its chunks hold 12 bytes, its dtype and dims need 16/],
      ["long_weight", () => [new Uint8Array(8), new Uint8Array(12)], /"long_weight": its chunks hold more than the 16 bytes/],
      ["typed_weight", () => [new Float32Array(4)], /"typed_weight": a chunk is Float32Array, expected a Uint8Array/],
    ] as const
    for (const [name, chunks, pattern] of cases) {
      for (const externalData of ["never", "always"] as const) {
        const dir = join(scratch.dir, `bad-${name}-${externalData}`)
        const error = await writeModel(modelWith(name, chunks), dir, { externalData, externalMinBytes: 0 }).catch((e) => e)
        expect(error).toBeInstanceOf(OnnxWriteError)
        expect(String(error.message)).toMatch(pattern)
        expect(readdirSync(dir)).toEqual([])
      }
    }
    expect(() => readTensorBytes(modelWith("short_weight", () => [new Uint8Array(12)]).graph.initializers[0]!)).toThrow(OnnxBuildError)
  })

  test("a producer that throws becomes an OnnxWriteError whose cause is the original error", async () => {
    const original = new Error("the checkpoint ended early")
    const model = modelWith("broken", function* () {
      yield new Uint8Array(8)
      throw original
    })
    const error = await writeModel(model, join(scratch.dir, "throwing"), { externalData: "always", externalMinBytes: 0 }).catch((e) => e)
    expect(error).toBeInstanceOf(OnnxWriteError)
    expect(String(error.message)).toContain(`initializer "broken": could not get its data: the checkpoint ended early`)
    expect(error.cause).toBe(original)
    expect(readdirSync(join(scratch.dir, "throwing"))).toEqual([])
  })
})
