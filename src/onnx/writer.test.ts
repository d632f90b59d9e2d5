// writeModel: ORT runs what it writes, external data layout and alignment, thunks called at write
// time only and streamed, byte-identical output for identical input.
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import * as ort from "onnxruntime-node"
import { GraphBuilder } from "./builder.ts"
import { OnnxWriteError } from "./errors.ts"
import type { OnnxModel } from "./model.ts"
import { ModelProtoType, type ModelMsg } from "./schema.ts"
import { buildMlp, mlpByHand, scratchDir, seededFloats, type MlpFixture } from "./test-support.ts"
import { writeModel } from "./writer.ts"

const scratch = scratchDir("writer")
afterAll(scratch.cleanup)

const runMlp = async (modelPath: string, f: MlpFixture, x: Float32Array, rows: number): Promise<Float32Array> => {
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1 })
  try {
    const out = await session.run({ x: new ort.Tensor("float32", x, [rows, f.inFeatures]) })
    return out.y!.data as Float32Array
  } finally {
    await session.release()
  }
}

const decodeRaw = (path: string): ModelMsg => ModelProtoType.toObject(ModelProtoType.decode(readFileSync(path)), { longs: String }) as ModelMsg

describe("writeModel inline", () => {
  test("a MatMul+Add+Relu graph runs in ORT and matches a hand computation", async () => {
    const f = buildMlp()
    const written = await writeModel(f.model, join(scratch.dir, "inline"))
    expect(written.dataPath).toBeUndefined()
    expect(statSync(written.modelPath).size).toBe(written.modelBytes)
    const rows = 3
    const x = seededFloats(99, rows * f.inFeatures)
    const y = await runMlp(written.modelPath, f, x, rows)
    const expected = mlpByHand(f, x, rows)
    expect(y.length).toBe(expected.length)
    for (let i = 0; i < y.length; i++) expect(y[i]!).toBeCloseTo(expected[i]!, 5)
    expect(expected.some((v) => v === 0) && expected.some((v) => v > 0)).toBe(true) // Relu actually clipped something
  })

  test("writes to an explicit .onnx path and leaves no temp files", async () => {
    const f = buildMlp()
    const dir = join(scratch.dir, "explicit")
    const written = await writeModel(f.model, join(dir, "encoder.onnx"), { externalData: "never" })
    expect(written.modelPath).toBe(join(dir, "encoder.onnx"))
    expect(readdirSync(dir)).toEqual(["encoder.onnx"])
  })

  test("never mode refuses a model past the protobuf limit instead of writing a corrupt file", async () => {
    const g = new GraphBuilder({ name: "huge", opset: 17 })
    const x = g.input("x", "float32", [1])
    // 2^29 float32 = 2 GiB; the thunk must not be called since the size check comes first.
    let called = false
    g.initializer("w", "float32", [2 ** 29], () => {
      called = true
      return new Float32Array(0)
    })
    g.output(x, "float32", [1])
    const model = g.build()
    const target = join(scratch.dir, "huge")
    const error = await writeModel(model, target, { externalData: "never" }).catch((e) => e)
    expect(error).toBeInstanceOf(OnnxWriteError)
    expect(String(error.message)).toContain("2 GiB")
    expect(called).toBe(false)
    expect(existsSync(join(target, "model.onnx"))).toBe(false)
  })
})

describe("writeModel external data", () => {
  test("a tiny threshold moves weights to model.onnx_data with aligned offsets, and ORT gives the inline output", async () => {
    const f = buildMlp({ inFeatures: 16, outFeatures: 8 })
    const inline = await writeModel(f.model, join(scratch.dir, "ext-ref"), { externalData: "never" })
    const written = await writeModel(f.model, join(scratch.dir, "ext"), { externalDataThreshold: 100, externalMinBytes: 0, alignment: 64 })
    expect(written.dataPath).toBe(join(scratch.dir, "ext", "model.onnx_data"))
    expect(written.externalTensors).toBe(2)
    const data = readFileSync(written.dataPath!)
    // w: 16·8·4 = 512 bytes at 0; b: 8·4 = 32 bytes at the next multiple of 64 = 512.
    expect(data.byteLength).toBe(512 + 32)

    const msg = decodeRaw(written.modelPath)
    const entries = msg.graph!.initializer!.map((t) => ({
      name: t.name,
      location: t.data_location,
      raw: t.raw_data?.byteLength ?? 0,
      external: Object.fromEntries((t.external_data ?? []).map((e) => [e.key, e.value])),
    }))
    expect(entries).toEqual([
      { name: "w", location: 1, raw: 0, external: { location: "model.onnx_data", offset: "0", length: "512" } },
      { name: "b", location: 1, raw: 0, external: { location: "model.onnx_data", offset: "512", length: "32" } },
    ])
    // Copy out of the Buffer (its pool offset need not be 4-aligned) before viewing as float32.
    expect(Array.from(new Float32Array(new Uint8Array(data.subarray(0, 512)).buffer))).toEqual(Array.from(f.weight))
    expect(Array.from(new Float32Array(new Uint8Array(data.subarray(512, 544)).buffer))).toEqual(Array.from(f.bias))

    const rows = 2
    const x = seededFloats(5, rows * f.inFeatures)
    expect(await runMlp(written.modelPath, f, x, rows)).toEqual(await runMlp(inline.modelPath, f, x, rows))
  })

  test("default alignment is 4096 and small tensors stay inline under externalMinBytes", async () => {
    const f = buildMlp({ inFeatures: 64, outFeatures: 32 }) // w = 8192 bytes, b = 128 bytes
    const written = await writeModel(f.model, join(scratch.dir, "ext-default"), { externalData: "always" })
    expect(written.externalTensors).toBe(1)
    const msg = decodeRaw(written.modelPath)
    const [w, b] = msg.graph!.initializer!
    expect(w!.data_location).toBe(1)
    expect(b!.data_location ?? 0).toBe(0)
    expect(b!.raw_data!.byteLength).toBe(128)
    expect(statSync(written.dataPath!).size).toBe(8192)
  })

  test("a custom dataFileName is used as the location; a path with a slash is refused", async () => {
    const f = buildMlp()
    const written = await writeModel(f.model, join(scratch.dir, "custom"), { externalData: "always", externalMinBytes: 0, dataFileName: "weights.bin" })
    expect(written.dataPath).toBe(join(scratch.dir, "custom", "weights.bin"))
    expect(decodeRaw(written.modelPath).graph!.initializer![0]!.external_data![0]).toEqual({ key: "location", value: "weights.bin" })
    const error = await writeModel(f.model, join(scratch.dir, "custom2"), { externalData: "always", dataFileName: "../weights.bin" }).catch((e) => e)
    expect(error).toBeInstanceOf(OnnxWriteError)
    expect(String(error.message)).toContain("bare file name")
  })
})

describe("writeModel thunks", () => {
  test("thunk initializers run once each, at write time only", async () => {
    const calls: string[] = []
    const f = buildMlp({
      wrap: (name, data) => () => {
        calls.push(name)
        return data
      },
    })
    expect(calls).toEqual([]) // building (and its check) does not read weights
    await writeModel(f.model, join(scratch.dir, "thunk-inline"))
    expect(calls).toEqual(["w", "b"])
    await writeModel(f.model, join(scratch.dir, "thunk-ext"), { externalData: "always", externalMinBytes: 0 })
    expect(calls).toEqual(["w", "b", "w", "b"])
  })

  test("weights stream: an earlier tensor is on disk before the next thunk is called", async () => {
    const dir = join(scratch.dir, "stream")
    const dataTempSize = () => {
      const temp = readdirSync(dir).find((f) => f.startsWith(".model.onnx_data.tmp-"))
      return temp === undefined ? -1 : statSync(join(dir, temp)).size
    }
    const seen: number[] = []
    const g = new GraphBuilder({ name: "stream", opset: 17 })
    const x = g.input("x", "float32", [1])
    for (const name of ["t0", "t1", "t2"])
      g.initializer(name, "float32", [2 ** 18], () => {
        seen.push(dataTempSize())
        return new Float32Array(2 ** 18) // 1 MiB each
      })
    g.output(x, "float32", [1])
    await writeModel(g.build(), dir, { externalData: "always" })
    expect(seen).toEqual([0, 2 ** 20, 2 ** 21])
  })

  test("a thunk returning the wrong number of bytes fails naming the tensor, leaving no files", async () => {
    const g = new GraphBuilder({ name: "bad", opset: 17 })
    const x = g.input("x", "float32", [2])
    g.initializer("short_weight", "float32", [4], () => new Float32Array(3))
    g.output(x, "float32", [2])
    const dir = join(scratch.dir, "bad-thunk")
    for (const externalData of ["never", "always"] as const) {
      const error = await writeModel(g.build(), dir, { externalData, externalMinBytes: 0 }).catch((e) => e)
      expect(error).toBeInstanceOf(OnnxWriteError)
      expect(String(error.message)).toContain(`"short_weight"`)
      expect(String(error.message)).toContain("16 bytes")
      expect(readdirSync(dir)).toEqual([])
    }
  })
})

describe("writeModel determinism", () => {
  const write = async (model: OnnxModel, dir: string) => {
    const w = await writeModel(model, dir, { externalData: "always", externalMinBytes: 16 })
    return { onnx: readFileSync(w.modelPath), data: readFileSync(w.dataPath!) }
  }

  test("writing the same model twice gives identical .onnx and .onnx_data bytes", async () => {
    const a = await write(buildMlp({ seed: 7 }).model, join(scratch.dir, "det-a"))
    const b = await write(buildMlp({ seed: 7 }).model, join(scratch.dir, "det-b"))
    expect(Buffer.compare(a.onnx, b.onnx)).toBe(0)
    expect(Buffer.compare(a.data, b.data)).toBe(0)
    const c = await write(buildMlp({ seed: 8 }).model, join(scratch.dir, "det-c"))
    expect(Buffer.compare(a.data, c.data)).not.toBe(0) // the comparison can tell models apart
  })
})
