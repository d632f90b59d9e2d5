// Attribute encoding as ONNX Runtime reads it (negative ints, floats, lists, tensor attributes).
import { afterAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import * as ort from "onnxruntime-node"
import { attr, tensor } from "./attributes.ts"
import { GraphBuilder } from "./builder.ts"
import { scratchDir } from "./test-support.ts"
import { writeModel } from "./writer.ts"

const scratch = scratchDir("attributes")
afterAll(scratch.cleanup)

describe("attributes as ORT reads them", () => {
  test("negative ints, floats, int lists and tensor attributes encode so ORT computes the expected values", async () => {
    // ids (int64) → Gather rows of a table → Transpose(perm) → ReduceSum(axes input, keepdims=0)
    // → Add Constant(tensor attr) → LeakyRelu(alpha float) → Cast(to int)
    const g = new GraphBuilder({ name: "attrs", opset: 17 })
    const ids = g.input("ids", "int64", [2])
    const table = g.initializer("table", "float32", [3, 2], new Float32Array([1, 2, -3, -4, 5, 6]))
    const rows = g.op("Gather", [table, ids], { attrs: { axis: 0 } }) // [2, 2]
    const t = g.op("Transpose", [rows], { attrs: { perm: [1, 0] } })
    const axes = g.initializer("axes", "int64", [1], [-1])
    const summed = g.op("ReduceSum", [t, axes], { attrs: { keepdims: false } }) // [2]
    const offset = g.op("Constant", [], { attrs: { value: tensor("float32", [2], [0.5, -20]) } })
    const leaky = g.op("LeakyRelu", [g.op("Add", [summed, offset])], { attrs: { alpha: attr.float(0.25) } })
    const asInt = g.op("Cast", [leaky], { attrs: { to: 6 } }) // int32, truncating toward zero
    g.output(leaky, "float32", [2])
    g.output(asInt, "int32", [2])
    const written = await writeModel(g.build(), join(scratch.dir, "attrs"))

    const session = await ort.InferenceSession.create(written.modelPath, { intraOpNumThreads: 1 })
    try {
      const out = await session.run({ ids: new ort.Tensor("int64", new BigInt64Array([2n, 1n]), [2]) })
      // rows = [[5, 6], [-3, -4]]; transposed [[5, -3], [6, -4]]; sums over last axis = [2, 2];
      // + [0.5, -20] = [2.5, -18]; leaky relu = [2.5, -4.5]; cast = [2, -4]
      expect(Array.from(out[leaky]!.data as Float32Array)).toEqual([2.5, -4.5])
      expect(Array.from(out[asInt]!.data as Int32Array)).toEqual([2, -4])
    } finally {
      await session.release()
    }
  })
})
