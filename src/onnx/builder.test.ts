// GraphBuilder: deterministic auto-naming, attribute inference, early build errors, tensor data checks.
import { describe, expect, test } from "bun:test"
import { attr, tensor } from "./attributes.ts"
import { GraphBuilder, irVersionForOpset } from "./builder.ts"
import { OnnxBuildError, OnnxCheckError } from "./errors.ts"
import { readTensorBytes } from "./tensor-data.ts"

const newBuilder = () => new GraphBuilder({ name: "g", opset: 17, opsets: { "com.microsoft": 1 } })

describe("GraphBuilder", () => {
  test("auto-names nodes per op type and outputs after their node, deterministically", () => {
    const build = () => {
      const g = newBuilder()
      const x = g.input("x", "float32", [2])
      const a = g.op("Relu", [x])
      const b = g.op("Relu", [a])
      const [s0, s1] = g.node("Split", [b], { outputs: 2, attrs: { axis: 0 } })
      g.output(g.op("Add", [s0, s1]), "float32", [1])
      return g.build()
    }
    const model = build()
    expect(model.graph.nodes.map((n) => [n.name, n.outputs])).toEqual([
      ["Relu_0", ["Relu_0_output_0"]],
      ["Relu_1", ["Relu_1_output_0"]],
      ["Split_0", ["Split_0_output_0", "Split_0_output_1"]],
      ["Add_0", ["Add_0_output_0"]],
    ])
    expect(build()).toEqual(model)
  })

  test("auto-names skip names already taken", () => {
    const g = newBuilder()
    const x = g.input("Relu_0_output_0", "float32", [2])
    g.node("Identity", [x], { name: "Relu_0", outputs: ["id"] })
    const out = g.op("Relu", [x])
    expect(out).toBe("Relu_1_output_0")
    expect(g.uniqueName("id")).toBe("id_1")
  })

  test("attribute types are inferred from JS values and can be overridden", () => {
    const g = newBuilder()
    const x = g.input("x", "float32", [2])
    const t = tensor("int64", [2], [1, 2])
    g.op("Custom", [x], {
      domain: "com.microsoft",
      name: "n",
      attrs: { i: 3, f: 0.5, s: "mean", ints: [1, 2], floats: [0.5, 1], strs: ["a"], t, b: true, alpha: attr.float(1), e: attr.ints([]), skip: undefined },
    })
    const attributes = g.build({ check: false }).graph.nodes[0]!.attributes
    expect(attributes.map((a) => [a.name, a.type])).toEqual([
      ["i", "int"], ["f", "float"], ["s", "string"], ["ints", "ints"], ["floats", "floats"], ["strs", "strings"],
      ["t", "tensor"], ["b", "int"], ["alpha", "float"], ["e", "ints"],
    ])
    expect(attributes.find((a) => a.name === "b")!.value).toBe(1)
  })

  test("ambiguous or unsupported attribute values are build errors naming the node and attribute", () => {
    const g = newBuilder()
    expect(() => g.op("Foo", [], { name: "n1", attrs: { empty: [] } })).toThrow(/node "n1" \(Foo\): attribute "empty" is an empty list/)
    expect(() => g.op("Foo", [], { name: "n2", attrs: { mixed: [1, "a"] as never } })).toThrow(/attribute "mixed" mixes element types/)
    expect(() => g.op("Foo", [], { name: "n3", attrs: { big: 2 ** 60 } })).toThrow(/not a safe integer/)
  })

  test("a node in a domain without an opset import is refused at once, with the fix", () => {
    const g = new GraphBuilder({ name: "g", opset: 17 })
    expect(() => g.op("Attention", [], { domain: "com.microsoft" })).toThrow(/domain "com.microsoft" which has no opset import.*opsets: \{ "com.microsoft": 1 \}/)
    expect(() => g.op("Relu", [], { domain: "ai.onnx" })).not.toThrow()
  })

  test("duplicate names are refused", () => {
    const g = newBuilder()
    g.input("x", "float32", [1])
    expect(() => g.initializer("x", "float32", [1], [1])).toThrow(OnnxBuildError)
    expect(() => g.node("Relu", ["x"], { outputs: ["x"] })).toThrow(/output "x" is already the name of another value/)
    g.op("Relu", ["x"], { name: "r" })
    expect(() => g.op("Relu", ["x"], { name: "r" })).toThrow(/node name "r" is already used/)
  })

  test("initializer data is checked against dtype and dims", () => {
    const g = newBuilder()
    expect(() => g.initializer("w", "float32", [2, 2], new Float32Array(3))).toThrow(/tensor "w": float32\[2, 2\] needs 16 bytes, the data has 12/)
    expect(() => g.initializer("w", "int64", [2], new Int32Array(2))).toThrow(/Int32Array does not fit dtype int64; expected BigInt64Array/)
    expect(() => g.initializer("w", "int32", [2], [1, 2.5])).toThrow(/element 1 \(2.5\) is not an integer/)
    expect(() => g.initializer("w", "float32", [-1], [])).toThrow(/non-negative integers/)
  })

  test("initializers accept typed arrays, raw bytes, number lists and fp32 for fp16", () => {
    const g = newBuilder()
    g.initializer("a", "int64", [2], new BigInt64Array([1n, -1n]))
    g.initializer("b", "int64", [2], [1, -1])
    g.initializer("c", "float16", [2], new Float32Array([1, -2]))
    g.initializer("d", "float16", [2], new Uint8Array([0x00, 0x3c, 0x00, 0xc0]))
    g.initializer("e", "bool", [3], [1, 0, 1])
    const [a, b, c, d, e] = g.build().graph.initializers.map(readTensorBytes)
    expect(Array.from(a!)).toEqual(Array.from(b!))
    expect(Array.from(c!)).toEqual(Array.from(d!)) // 1.0 = 0x3c00, -2.0 = 0xc000
    expect(Array.from(e!)).toEqual([1, 0, 1])
  })

  test("build checks the graph unless told not to", () => {
    const g = newBuilder()
    g.op("Relu", ["missing"])
    expect(() => g.build()).toThrow(OnnxCheckError)
    expect(g.build({ check: false }).graph.nodes).toHaveLength(1)
  })

  test("opset imports and IR version follow the options", () => {
    const model = new GraphBuilder({ name: "g", opset: 17, opsets: { "org.z": 2, "com.microsoft": 1 } }).build()
    expect(model.opsetImports).toEqual([
      { domain: "", version: 17 },
      { domain: "com.microsoft", version: 1 },
      { domain: "org.z", version: 2 },
    ])
    expect(model.irVersion).toBe(8)
    expect([13, 17, 19, 21, 23].map(irVersionForOpset)).toEqual([7, 8, 9, 10, 11])
  })
})
