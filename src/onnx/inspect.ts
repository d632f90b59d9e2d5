// Questions asked of a model after building or reading it: its nodes (optionally inside nested
// graphs), op-type counts keyed with their domain, and initializers by name as float32.
import { OnnxBuildError } from "./errors.ts"
import { normalizeDomain, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor } from "./model.ts"
import { tensorToFloat32 } from "./tensor-data.ts"

/** Nodes in graph order; with `recursive`, nodes of If/Loop/Scan bodies follow their parent. */
export function* iterateNodes(model: OnnxModel | OnnxGraph, options: { readonly recursive?: boolean } = {}): Generator<OnnxNode> {
  const graph = "graph" in model ? model.graph : model
  for (const node of graph.nodes) {
    yield node
    if (!options.recursive) continue
    for (const a of node.attributes) {
      if (a.type === "graph") yield* iterateNodes(a.value, options)
      else if (a.type === "graphs") for (const g of a.value) yield* iterateNodes(g, options)
    }
  }
}

/** `"MatMul"` for the default domain, `"com.microsoft:Attention"` otherwise. */
export const opKey = (node: Pick<OnnxNode, "domain" | "opType">): string => {
  const domain = normalizeDomain(node.domain)
  return domain === "" ? node.opType : `${domain}:${node.opType}`
}

/** How many nodes of each op type (keys from `opKey`, sorted), nested graphs included. */
export const opTypeCounts = (model: OnnxModel | OnnxGraph): Record<string, number> => {
  const counts = new Map<string, number>()
  for (const node of iterateNodes(model, { recursive: true })) counts.set(opKey(node), (counts.get(opKey(node)) ?? 0) + 1)
  return Object.fromEntries([...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

export const findInitializer = (model: OnnxModel, name: string): OnnxTensor | undefined =>
  model.graph.initializers.find((t) => t.name === name)

/** An initializer's values as float32 (from float32, float16, bfloat16 or float64). */
export const initializerAsFloat32 = (model: OnnxModel, name: string): Float32Array => {
  const t = findInitializer(model, name)
  if (!t) throw new OnnxBuildError(`graph "${model.graph.name}" has no initializer "${name}"`)
  return tensorToFloat32(t)
}
