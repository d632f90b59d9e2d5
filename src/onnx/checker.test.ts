// checkModel: each structural problem is reported with the node and tensor it concerns.
import { describe, expect, test } from "bun:test"
import { GraphBuilder } from "./builder.ts"
import { checkModel, findModelIssues } from "./checker.ts"
import { OnnxCheckError } from "./errors.ts"
import type { OnnxModel, OnnxNode } from "./model.ts"
import { buildMlp } from "./test-support.ts"

const node = (name: string, opType: string, inputs: string[], outputs: string[], domain = ""): OnnxNode => ({
  name,
  opType,
  domain,
  inputs,
  outputs,
  attributes: [],
})

const withGraph = (model: OnnxModel, patch: Partial<OnnxModel["graph"]>): OnnxModel => ({ ...model, graph: { ...model.graph, ...patch } })

const checkError = (model: OnnxModel): OnnxCheckError => {
  try {
    checkModel(model)
  } catch (e) {
    if (e instanceof OnnxCheckError) return e
    throw e
  }
  throw new Error("checkModel accepted the model")
}

describe("checkModel", () => {
  const good = buildMlp().model

  test("a well-formed model passes", () => {
    expect(findModelIssues(good)).toEqual([])
    expect(() => checkModel(good)).not.toThrow()
  })

  test("an out-of-order node names the node, its input and the later producer", () => {
    const [matmul, add, relu] = good.graph.nodes
    const error = checkError(withGraph(good, { nodes: [add!, matmul!, relu!] }))
    expect(error.issues.map((i) => i.code)).toEqual(["out-of-order"])
    expect(error.issues[0]!.node).toBe(`node "Add_0" (Add)`)
    expect(error.issues[0]!.tensor).toBe("MatMul_0_output_0")
    expect(error.message).toContain(`node "Add_0" (Add) input 0 "MatMul_0_output_0" is produced by node "MatMul_0" (MatMul), which comes later`)
  })

  test("a missing input names the node and the tensor; an empty optional input is fine", () => {
    const extra = node("Clip_0", "Clip", ["y", "", "max_value"], ["clipped"])
    const error = checkError(withGraph(good, { nodes: [...good.graph.nodes, extra] }))
    expect(error.issues).toHaveLength(1)
    expect(error.issues[0]).toMatchObject({ code: "unknown-input", node: `node "Clip_0" (Clip)`, tensor: "max_value" })
    expect(error.message).toContain(`"max_value" is not a graph input, an initializer or an earlier node's output`)
  })

  test("a duplicate output names both producers", () => {
    const twin = node("Relu_twin", "Relu", ["x"], ["y"])
    const error = checkError(withGraph(good, { nodes: [...good.graph.nodes, twin] }))
    expect(error.issues).toEqual([
      { code: "duplicate-output", node: `node "Relu_twin" (Relu)`, tensor: "y", message: `node "Relu_twin" (Relu) output "y" is also produced by node "Relu_0" (Relu)` },
    ])
  })

  test("a node output shadowing a graph input is a duplicate", () => {
    const shadow = node("", "Identity", ["w"], ["x"])
    const issues = findModelIssues(withGraph(good, { nodes: [...good.graph.nodes, shadow] }))
    expect(issues).toMatchObject([{ code: "duplicate-output", node: "node #3 (Identity)", tensor: "x" }])
  })

  test("initializer bytes inconsistent with dims × dtype name the initializer and both sizes", () => {
    const [w, b] = good.graph.initializers
    const shrunk = { ...b!, dims: [3] } // data still holds 4 floats
    const error = checkError(withGraph(good, { initializers: [w!, shrunk] }))
    expect(error.issues).toHaveLength(1)
    expect(error.issues[0]).toMatchObject({ code: "initializer-size", tensor: "b" })
    expect(error.message).toContain(`initializer "b" is float32[3] = 12 bytes, but its data is 16 bytes`)
  })

  test("an external length that disagrees with the dims is reported without reading the file", () => {
    const [w, b] = good.graph.initializers
    const external = { ...w!, data: { kind: "external" as const, location: "model.onnx_data", path: "/nonexistent/model.onnx_data", offset: 0, length: 12 } }
    const issues = findModelIssues(withGraph(good, { initializers: [external, b!] }))
    expect(issues).toMatchObject([{ code: "initializer-size", tensor: "w" }])
    expect(issues[0]!.message).toContain("external data length is 12 bytes")
  })

  test("a node in a domain without an opset import names the node and the domain", () => {
    const g = new GraphBuilder({ name: "ms", opset: 17, opsets: { "com.microsoft": 1 } })
    const x = g.input("x", "float32", [4])
    g.output(g.op("Gelu", [x], { domain: "com.microsoft", name: "gelu" }), "float32", [4])
    const built = g.build()
    const model: OnnxModel = { ...built, opsetImports: built.opsetImports.filter((o) => o.domain === "") }
    const error = checkError(model)
    expect(error.issues).toMatchObject([{ code: "missing-opset", node: `node "gelu" (com.microsoft:Gelu)` }])
    expect(error.message).toContain(`uses domain "com.microsoft" but the model has no opset import for it`)
  })

  test("a graph output nobody produces is reported", () => {
    const model = withGraph(good, { outputs: [...good.graph.outputs, { name: "logits", dtype: "float32", dims: [1] }] })
    expect(findModelIssues(model)).toMatchObject([{ code: "output-not-produced", tensor: "logits" }])
  })

  test("every problem is listed at once", () => {
    const [matmul, add, relu] = good.graph.nodes
    const model = { ...withGraph(good, { nodes: [add!, matmul!, relu!, node("", "Foo", ["nope"], ["y"], "org.x")] }) }
    const codes = findModelIssues(model).map((i) => i.code).sort()
    expect(codes).toEqual(["duplicate-output", "missing-opset", "out-of-order", "unknown-input"])
  })
})
