// Proves the exporter's weight streaming: the producers in weight-layout.ts (chunked, transposed,
// packed, concatenated, one row) give the values a naive rearrangement does, with or without
// readFloat32Into; and a whole export through streaming readers is byte-identical to one through
// tensors that can only be read whole (fp32 and fp16, torch .bin and float16 safetensors).
import { afterAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { ModelCheckpoint } from "../families/index.ts"
import { concatenated, packedLinears, streamed, tableRow, transposedLinear, type WeightValues, weightScratch } from "../graph/index.ts"
import { writeModel } from "../onnx/index.ts"
import type { LazyTensor } from "../tensor/index.ts"
import { buildEncoderGraph } from "./encoder-graph.ts"
import { parseExportSettings } from "./options.ts"
import { openCheckpoint, scratch } from "./test-support.ts"
import { synthesizeCheckpoint } from "../synth/index.ts"

const { dir, cleanup } = scratch("weight-streaming")
afterAll(cleanup)

/** Seeded values with a NaN carrying a payload, so bit-exact copies can be told from float copies. */
const seeded = (seed: number, count: number): Float32Array => {
  let state = seed >>> 0
  const out = new Float32Array(count)
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    out[i] = state / 2 ** 31 - 1
  }
  if (count > 3) new Uint32Array(out.buffer)[3] = 0x7fc0_1234
  return out
}

/** An in-memory tensor; `streaming` decides whether it offers readFloat32Into. */
const memoryTensor = (name: string, shape: number[], values: Float32Array, streaming: boolean): LazyTensor => ({
  name,
  dtype: "float32",
  shape,
  readFloat32: () => values.slice(),
  ...(streaming ? { readFloat32Into: (target: Float32Array, start = 0) => target.set(values.subarray(start, start + target.length)) } : {}),
})

/** All pieces of a producer, copied out as they come (each is only borrowed until the next). */
const collect = (values: WeightValues): { pieces: number; bits: Uint32Array } => {
  const copies: Float32Array[] = []
  for (const piece of values()) copies.push(piece.slice())
  const out = new Float32Array(copies.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const copy of copies) {
    out.set(copy, offset)
    offset += copy.length
  }
  return { pieces: copies.length, bits: new Uint32Array(out.buffer) }
}

const bitsOf = (values: Float32Array): Uint32Array => new Uint32Array(values.buffer, values.byteOffset, values.length)

const naiveTranspose = (values: Float32Array, rows: number, cols: number): Float32Array => {
  const bits = bitsOf(values)
  const out = new Uint32Array(rows * cols)
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = bits[r * cols + c]!
  return new Float32Array(out.buffer)
}

for (const streaming of [true, false]) {
  describe(`weight producers (${streaming ? "readFloat32Into" : "readFloat32 only"})`, () => {
    test("streamed: pieces of at most chunkElements, together the stored values", () => {
      const values = seeded(1, 1000)
      const tensor = memoryTensor("table", [40, 25], values, streaming)
      const scratchBuffers = weightScratch()
      expect(collect(streamed(tensor, scratchBuffers, 300))).toEqual({ pieces: 4, bits: bitsOf(values) })
      expect(collect(streamed(tensor, scratchBuffers))).toEqual({ pieces: 1, bits: bitsOf(values) })
      expect(collect(streamed(memoryTensor("empty", [0, 3], new Float32Array(0), streaming), scratchBuffers, 300)).pieces).toBe(0)
    })

    test("transposedLinear and packedLinears equal a naive transpose bit for bit (shapes not multiples of the tile)", () => {
      const scratchBuffers = weightScratch()
      const [rows, cols] = [37, 21]
      const weight = seeded(2, rows * cols)
      expect(collect(transposedLinear(memoryTensor("w", [rows, cols], weight, streaming), scratchBuffers)).bits).toEqual(bitsOf(naiveTranspose(weight, rows, cols)))
      const parts = [seeded(3, 5 * cols), seeded(4, 19 * cols), seeded(5, 2 * cols)]
      const packed = collect(packedLinears(parts.map((p, i) => memoryTensor(`p${i}`, [p.length / cols, cols], p, streaming)), scratchBuffers))
      const outCols = 26
      const expected = new Uint32Array(cols * outCols)
      let offset = 0
      for (const part of parts) {
        const partRows = part.length / cols
        const transposed = bitsOf(naiveTranspose(part, partRows, cols))
        for (let c = 0; c < cols; c++) for (let r = 0; r < partRows; r++) expected[c * outCols + offset + r] = transposed[c * partRows + r]!
        offset += partRows
      }
      expect(packed.bits).toEqual(expected)
    })

    test("concatenated and tableRow read the right elements", () => {
      const scratchBuffers = weightScratch()
      const vectors = [seeded(6, 4), seeded(7, 9)]
      const joined = collect(concatenated(vectors.map((v, i) => memoryTensor(`v${i}`, [v.length], v, streaming)), scratchBuffers))
      expect(joined.bits).toEqual(new Uint32Array([...bitsOf(vectors[0]!), ...bitsOf(vectors[1]!)]))
      const table = seeded(8, 3 * 7)
      expect(collect(tableRow(memoryTensor("types", [3, 7], table, streaming), 2, scratchBuffers)).bits).toEqual(bitsOf(table.slice(14, 21)))
    })
  })
}

/** The checkpoint with every tensor stripped of readFloat32Into: the whole-tensor path. */
const wholeOnly = (checkpoint: ModelCheckpoint): ModelCheckpoint => {
  const strip = (tensors: ReadonlyMap<string, LazyTensor>) =>
    new Map([...tensors].map(([name, t]) => [name, { name: t.name, dtype: t.dtype, shape: t.shape, readFloat32: () => t.readFloat32() }]))
  return { ...checkpoint, tensors: strip(checkpoint.tensors), extras: new Map([...checkpoint.extras].map(([stem, tensors]) => [stem, strip(tensors)])) }
}

describe("streamed exports", () => {
  const cases = [
    { label: "XLM-R m3 from pytorch_model.bin", arch: "xlm-roberta", task: "m3", storedAs: "float32" },
    { label: "BERT embedding from float16 safetensors", arch: "bert", task: "embedding", storedAs: "float16" },
  ] as const
  for (const c of cases) {
    test(`${c.label}: streaming and whole-tensor reads write identical fp32 and fp16 models`, async () => {
      const ckptDir = join(dir, `${c.arch}-${c.task}`)
      await synthesizeCheckpoint({ arch: c.arch, size: "tiny", task: c.task, seed: 3, out: ckptDir, dtype: c.storedAs })
      const checkpoint = openCheckpoint(ckptDir)
      try {
        expect(checkpoint.tensors.get([...checkpoint.tensors.keys()][0]!)!.readFloat32Into).toBeDefined()
        for (const dtype of ["fp32", "fp16"] as const) {
          const settings = parseExportSettings({ task: c.task, dtype })
          const write = async (source: ModelCheckpoint, name: string) => {
            const written = await writeModel(buildEncoderGraph(source, settings).model, join(dir, `${c.arch}-${dtype}-${name}`, "model.onnx"), { externalData: "always" })
            return { onnx: readFileSync(written.modelPath), data: readFileSync(written.dataPath!) }
          }
          const viaStreaming = await write(checkpoint, "streaming")
          const viaWhole = await write(wholeOnly(checkpoint), "whole")
          expect({ dtype, onnx: viaStreaming.onnx.equals(viaWhole.onnx), data: viaStreaming.data.equals(viaWhole.data) }).toEqual({ dtype, onnx: true, data: true })
        }
      } finally {
        checkpoint.close()
      }
    }, 30_000)
  }
})
