// Structural checks of a model before it is written or run: topological order, every input
// produced, unique outputs, graph outputs produced, initializer sizes, opset imports.
import { rawByteLength } from "./dtype.ts"
import { OnnxCheckError, type OnnxCheckIssue } from "./errors.ts"
import { normalizeDomain, type OnnxModel, type OnnxNode } from "./model.ts"

/** `node "name" (OpType)`, with the domain for non-default domains. */
export const describeNode = (node: OnnxNode, index: number): string => {
  const op = node.domain && normalizeDomain(node.domain) !== "" ? `${node.domain}:${node.opType}` : node.opType
  return node.name ? `node "${node.name}" (${op})` : `node #${index} (${op})`
}

/**
 * Every structural problem of the top-level graph. Nested graphs (If/Loop bodies) may read outer
 * values and are not checked here. Thunk initializers are not called; the writer checks their size.
 */
export const findModelIssues = (model: OnnxModel): OnnxCheckIssue[] => {
  const issues: OnnxCheckIssue[] = []
  const graph = model.graph

  const imported = new Set<string>()
  for (const o of model.opsetImports) {
    const d = normalizeDomain(o.domain)
    if (imported.has(d))
      issues.push({ code: "duplicate-opset", message: `opset import for domain "${d || "ai.onnx"}" appears more than once` })
    imported.add(d)
  }

  const inputNames = new Set<string>()
  for (const input of graph.inputs) {
    if (inputNames.has(input.name))
      issues.push({ code: "duplicate-name", tensor: input.name, message: `graph input "${input.name}" is declared more than once` })
    inputNames.add(input.name)
  }
  const initializerNames = new Set<string>()
  for (const init of graph.initializers) {
    if (initializerNames.has(init.name))
      issues.push({ code: "duplicate-name", tensor: init.name, message: `initializer "${init.name}" is declared more than once` })
    initializerNames.add(init.name)
    issues.push(...initializerIssues(init))
  }

  // Who produces each value, so an unknown input can be told apart from one produced too late.
  const producer = new Map<string, { node: OnnxNode; index: number }>()
  graph.nodes.forEach((node, index) => {
    for (const out of node.outputs) {
      if (out === "") continue
      const label = describeNode(node, index)
      const earlier = producer.get(out)
      if (earlier)
        issues.push({ code: "duplicate-output", node: label, tensor: out, message: `${label} output "${out}" is also produced by ${describeNode(earlier.node, earlier.index)}` })
      else if (inputNames.has(out) || initializerNames.has(out))
        issues.push({ code: "duplicate-output", node: label, tensor: out, message: `${label} output "${out}" has the name of a graph ${inputNames.has(out) ? "input" : "initializer"}` })
      else producer.set(out, { node, index })
    }
  })

  const available = new Set<string>([...inputNames, ...initializerNames])
  graph.nodes.forEach((node, index) => {
    const label = describeNode(node, index)
    if (!imported.has(normalizeDomain(node.domain)))
      issues.push({ code: "missing-opset", node: label, message: `${label} uses domain "${node.domain}" but the model has no opset import for it` })
    node.inputs.forEach((input, slot) => {
      if (input === "" || available.has(input)) return
      const later = producer.get(input)
      if (later && later.index >= index)
        issues.push({
          code: "out-of-order",
          node: label,
          tensor: input,
          message: `${label} input ${slot} "${input}" is produced by ${describeNode(later.node, later.index)}, which comes ${later.index === index ? "from the node itself (a cycle)" : "later"}: nodes must be in topological order`,
        })
      else
        issues.push({ code: "unknown-input", node: label, tensor: input, message: `${label} input ${slot} "${input}" is not a graph input, an initializer or an earlier node's output` })
    })
    for (const out of node.outputs) if (out !== "") available.add(out)
  })

  for (const output of graph.outputs)
    if (!available.has(output.name))
      issues.push({ code: "output-not-produced", tensor: output.name, message: `graph output "${output.name}" is not produced by any node, input or initializer` })

  return issues
}

const initializerIssues = (init: OnnxModel["graph"]["initializers"][number]): OnnxCheckIssue[] => {
  const bad = init.dims.find((d) => !Number.isSafeInteger(d) || d < 0)
  if (bad !== undefined)
    return [{ code: "bad-dims", tensor: init.name, message: `initializer "${init.name}" has dims [${init.dims.join(", ")}]; each must be a non-negative integer` }]
  const expected = rawByteLength(init.dtype, init.dims)
  if (expected === undefined) return []
  const data = init.data
  const actual = data.kind === "bytes" ? data.bytes.byteLength : data.kind === "external" ? data.length : data.kind === "chunks" ? data.byteLength : undefined
  if (actual === undefined || actual === expected) return []
  return [
    {
      code: "initializer-size",
      tensor: init.name,
      message: `initializer "${init.name}" is ${init.dtype}[${init.dims.join(", ")}] = ${expected} bytes, but its ${init.data.kind === "external" ? "external data length" : "data"} is ${actual} bytes`,
    },
  ]
}

/** Throws OnnxCheckError listing every problem `findModelIssues` finds. */
export const checkModel = (model: OnnxModel): void => {
  const issues = findModelIssues(model)
  if (issues.length > 0) throw new OnnxCheckError(model.graph.name, issues)
}
