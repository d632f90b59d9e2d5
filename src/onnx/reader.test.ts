// readModel: round trip equals the built model, lazy external data, typed-field tensors, and refusal
// of external locations outside the model directory.
import { afterAll, describe, expect, test } from "bun:test"
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { float32ToFloat16Bits } from "../tensor/index.ts"
import { GraphBuilder } from "./builder.ts"
import { OnnxReadError } from "./errors.ts"
import { initializerAsFloat32, iterateNodes, opTypeCounts } from "./inspect.ts"
import type { OnnxModel } from "./model.ts"
import { readModel, resolveExternalLocation } from "./reader.ts"
import { ModelProtoType } from "./schema.ts"
import { readTensorBytes } from "./tensor-data.ts"
import { attr, tensor } from "./attributes.ts"
import { buildMlp, scratchDir, seededFloats } from "./test-support.ts"
import { writeModel } from "./writer.ts"

const scratch = scratchDir("reader")
afterAll(scratch.cleanup)

/** The model with every tensor's bytes materialised, for structural comparison. */
const materialise = (m: OnnxModel) => ({
  ...m,
  graph: { ...m.graph, initializers: m.graph.initializers.map((t) => ({ ...t, data: Array.from(readTensorBytes(t)) })) },
})

const richModel = (): OnnxModel => {
  const g = new GraphBuilder({ name: "rich", opset: 17, opsets: { "com.microsoft": 1 }, metadata: { task: "embedding", seqlen: "128" } })
  const x = g.input("x", "float32", ["batch", "seq", 8])
  const w16 = g.initializer("w16", "float16", [8, 8], seededFloats(3, 64))
  const shape = g.initializer("shape", "int64", [2], [-1, 8])
  const h = g.op("Cast", [g.op("MatMul", [g.op("Cast", [x], { attrs: { to: 10 } }), w16])], { attrs: { to: 1 } })
  const r = g.op("Reshape", [h, shape])
  const c = g.op("Constant", [], { attrs: { value: tensor("float32", [1], [0.5]) } })
  const [y] = g.node("Gelu", [g.op("Mul", [r, c])], {
    domain: "com.microsoft",
    attrs: { alpha: attr.float(1), names: ["a", "b"], scales: [0.5, 1.5], ids: [1, 2, 3], label: "ß", big: 2n ** 60n },
  })
  g.valueInfo(h, "float32", ["batch", "seq", 8])
  g.output(y, "float32", ["rows", 8])
  return g.build()
}

describe("readModel", () => {
  test("a written model reads back equal to the built one (inline and external)", async () => {
    const built = richModel()
    for (const externalData of ["never", "always"] as const) {
      const w = await writeModel(built, join(scratch.dir, `rich-${externalData}`), { externalData, externalMinBytes: 0 })
      const back = await readModel(w.modelPath)
      expect(materialise(back)).toEqual(materialise(built))
    }
  })

  test("external initializers stay on disk until read, and loadExternalData reads them up front", async () => {
    const f = buildMlp({ inFeatures: 32, outFeatures: 16 })
    const w = await writeModel(f.model, join(scratch.dir, "lazy"), { externalData: "always", externalMinBytes: 0 })
    const lazy = await readModel(w.modelPath)
    const data = lazy.graph.initializers[0]!.data
    expect(data.kind).toBe("external")
    if (data.kind === "external") expect([data.location, data.path, data.offset, data.length]).toEqual(["model.onnx_data", w.dataPath, 0, 2048])
    expect(initializerAsFloat32(lazy, "w")).toEqual(f.weight)
    expect(initializerAsFloat32(lazy, "b")).toEqual(f.bias)
    const eager = await readModel(w.modelPath, { loadExternalData: true })
    expect(eager.graph.initializers.map((t) => t.data.kind)).toEqual(["bytes", "bytes"])
    expect(initializerAsFloat32(eager, "w")).toEqual(f.weight)
  })

  test("re-writing a lazily read model copies each external tensor from its source file", async () => {
    const f = buildMlp({ inFeatures: 32, outFeatures: 16 })
    const first = await writeModel(f.model, join(scratch.dir, "copy-src"), { externalData: "always", externalMinBytes: 0 })
    const lazy = await readModel(first.modelPath)
    const second = await writeModel(lazy, join(scratch.dir, "copy-dst"), { externalData: "never" })
    expect(initializerAsFloat32(await readModel(second.modelPath), "w")).toEqual(f.weight)
  })

  test("float16 initializers convert to float32 (to fp16 precision)", () => {
    const model = richModel()
    const values = initializerAsFloat32(model, "w16")
    const source = seededFloats(3, 64)
    for (let i = 0; i < 64; i++) expect(Math.abs(values[i]! - source[i]!)).toBeLessThan(1e-3)
    expect(() => initializerAsFloat32(model, "shape")).toThrow(/int64/)
    expect(() => initializerAsFloat32(model, "nope")).toThrow(/no initializer "nope"/)
  })

  test("opTypeCounts keys ops by domain and iterateNodes keeps graph order", () => {
    const model = richModel()
    expect(opTypeCounts(model)).toEqual({ Cast: 2, Constant: 1, MatMul: 1, Mul: 1, Reshape: 1, "com.microsoft:Gelu": 1 })
    expect([...iterateNodes(model)].map((n) => n.opType)).toEqual(["Cast", "MatMul", "Cast", "Reshape", "Constant", "Mul", "Gelu"])
  })

  test("reads tensors stored in float_data / int64_data / int32_data (as other exporters write them)", async () => {
    const msg = {
      ir_version: 8,
      opset_import: [{ domain: "", version: 17 }],
      graph: {
        name: "typed",
        initializer: [
          { name: "f", dims: [2], data_type: 1, float_data: [1.5, -2] },
          { name: "i", dims: [2], data_type: 7, int64_data: ["-3", "9007199254740993"] },
          { name: "h", dims: [1], data_type: 10, int32_data: [float32ToFloat16Bits(0.25)] },
        ],
      },
    }
    const path = join(scratch.dir, "typed.onnx")
    writeFileSync(path, ModelProtoType.encode(ModelProtoType.fromObject(msg)).finish())
    const model = await readModel(path)
    expect(initializerAsFloat32(model, "f")).toEqual(new Float32Array([1.5, -2]))
    const i = model.graph.initializers[1]!
    expect(Array.from(new BigInt64Array(new Uint8Array(readTensorBytes(i)).buffer))).toEqual([-3n, 9007199254740993n])
    expect(initializerAsFloat32(model, "h")).toEqual(new Float32Array([0.25]))
  })
})

describe("readModel refuses unsafe or broken files", () => {
  const writeWithLocation = (name: string, location: string): string => {
    const dir = join(scratch.dir, name)
    mkdirSync(dir, { recursive: true })
    const msg = {
      ir_version: 8,
      opset_import: [{ domain: "", version: 17 }],
      graph: {
        name: "evil",
        initializer: [
          {
            name: "w",
            dims: [2],
            data_type: 1,
            data_location: 1,
            external_data: [
              { key: "location", value: location },
              { key: "offset", value: "0" },
              { key: "length", value: "8" },
            ],
          },
        ],
      },
    }
    const path = join(dir, "model.onnx")
    writeFileSync(path, ModelProtoType.encode(ModelProtoType.fromObject(msg)).finish())
    return path
  }

  test.each(["../x", "sub/../../x", "/etc/passwd", "..\\x", "C:\\x"])("external location %p is rejected naming the tensor", async (location) => {
    const path = writeWithLocation(`evil-${encodeURIComponent(location)}`, location)
    const error = await readModel(path).catch((e) => e)
    expect(error).toBeInstanceOf(OnnxReadError)
    expect(error.message).toContain(`initializer "w"`)
    expect(error.message).toContain(JSON.stringify(location))
  })

  test("a symlink inside the model directory that leads outside it is rejected", async () => {
    const outside = join(scratch.dir, "secret.bin")
    writeFileSync(outside, new Uint8Array(8))
    const path = writeWithLocation("symlinked", "link.bin")
    symlinkSync(outside, join(scratch.dir, "symlinked", "link.bin"))
    await expect(readModel(path)).rejects.toThrow(/"link.bin" is not a relative path inside the model directory/)
  })

  test("locations inside the model directory resolve", () => {
    expect(resolveExternalLocation("/m", "model.onnx_data")).toBe("/m/model.onnx_data")
    expect(resolveExternalLocation("/m", "weights/a.bin")).toBe("/m/weights/a.bin")
    expect(resolveExternalLocation("/m", "")).toBeUndefined()
  })

  test("a missing external file fails on access naming the tensor and file", async () => {
    const path = writeWithLocation("missing-data", "gone.bin")
    const model = await readModel(path)
    expect(() => readTensorBytes(model.graph.initializers[0]!)).toThrow(/tensor "w".*gone\.bin/)
    await expect(readModel(path, { loadExternalData: true })).rejects.toBeInstanceOf(OnnxReadError)
  })

  test("an external range past the end of the data file is reported", async () => {
    const path = writeWithLocation("short-data", "short.bin")
    writeFileSync(join(scratch.dir, "short-data", "short.bin"), new Uint8Array(4))
    const model = await readModel(path)
    expect(() => readTensorBytes(model.graph.initializers[0]!)).toThrow(/runs past the end of "short.bin" \(4 bytes\)/)
  })

  test("a file that is not an ONNX model is a clear OnnxReadError", async () => {
    const path = join(scratch.dir, "garbage.onnx")
    writeFileSync(path, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]))
    const error = await readModel(path).catch((e) => e)
    expect(error).toBeInstanceOf(OnnxReadError)
    expect(error.message).toContain("garbage.onnx")
    await expect(readModel(join(scratch.dir, "absent.onnx"))).rejects.toThrow(/cannot read ONNX model/)
  })
})
