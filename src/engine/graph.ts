// Turns a pipeline's end nodes into a DAG of uniquely named nodes in topological order, rejecting
// cycles and dangling inputs. Ids are the user's labels or step names, numbered when repeated.
import { basename } from "node:path"
import { PipelineDefinitionError } from "./errors.ts"
import { isNode, type Node } from "./node.ts"
import type { Kind } from "./step-definition.ts"

export interface GraphNode {
  readonly id: string
  readonly node: Node<Kind>
  /** Input name → id of the producing node. */
  readonly inputs: Readonly<Record<string, string>>
}

export interface Graph {
  /** Topological order: every node after its inputs. */
  readonly nodes: readonly GraphNode[]
  readonly byId: ReadonlyMap<string, GraphNode>
}

const baseId = (node: Node<Kind>): string =>
  node.label ?? (node.step !== undefined ? node.step.name : `source:${basename(node.source?.path ?? "?")}`)

export const buildGraph = (ends: readonly Node<Kind>[]): Graph => {
  const order: Node<Kind>[] = []
  const state = new Map<Node<Kind>, "visiting" | "done">()
  const visit = (node: Node<Kind>, trail: readonly string[]): void => {
    const seen = state.get(node)
    if (seen === "done") return
    if (seen === "visiting") {
      throw new PipelineDefinitionError({
        message: `cycle in the pipeline graph: ${[...trail, baseId(node)].join(" → ")}`,
        hint: "a node cannot depend on itself, directly or through other nodes",
      })
    }
    state.set(node, "visiting")
    for (const [name, input] of Object.entries(node.inputs)) {
      if (!isNode(input)) {
        throw new PipelineDefinitionError({
          message: `node "${baseId(node)}": input "${name}" is not connected to a node (got ${input === undefined ? "undefined" : typeof input})`,
          hint: `pass a node for "${name}"`,
        })
      }
      visit(input, [...trail, baseId(node)])
    }
    if (node.step !== undefined) {
      for (const name of Object.keys(node.step.inputs)) {
        if (node.inputs[name] === undefined) {
          throw new PipelineDefinitionError({
            message: `node "${baseId(node)}": input "${name}" is missing`,
            hint: `connect a node of kind "${node.step.inputs[name]}" to "${name}"`,
          })
        }
      }
    }
    state.set(node, "done")
    order.push(node)
  }
  for (const end of ends) {
    if (!isNode(end)) throw new PipelineDefinitionError({ message: "pipeline end is not a node" })
    visit(end, [])
  }

  const ids = new Map<Node<Kind>, string>()
  const used = new Set<string>()
  // Labels are claimed first so that an unlabelled "evaluate" never takes a user's "evaluate".
  for (const node of order) {
    if (node.label === undefined) continue
    if (used.has(node.label)) {
      throw new PipelineDefinitionError({
        message: `two different nodes are both named "${node.label}"`,
        hint: "give each node a distinct id with .as(id)",
      })
    }
    used.add(node.label)
    ids.set(node, node.label)
  }
  for (const node of order) {
    if (ids.has(node)) continue
    const base = baseId(node)
    let id = base
    for (let n = 2; used.has(id); n++) id = `${base}-${n}`
    used.add(id)
    ids.set(node, id)
  }
  const nodes = order.map((node) => ({
    id: ids.get(node)!,
    node,
    inputs: Object.fromEntries(Object.entries(node.inputs).map(([name, input]) => [name, ids.get(input)!])),
  }))
  return { nodes, byId: new Map(nodes.map((n) => [n.id, n])) }
}

/** The given node and everything it depends on. */
export const ancestorsOf = (graph: Graph, id: string): Set<string> => {
  const out = new Set<string>()
  const walk = (current: string): void => {
    if (out.has(current)) return
    out.add(current)
    for (const input of Object.values(graph.byId.get(current)?.inputs ?? {})) walk(input)
  }
  walk(id)
  return out
}

/** Mermaid flowchart of the graph, for `--graph`. */
export const toMermaid = (graph: Graph): string => {
  const safe = (id: string) => id.replace(/[^A-Za-z0-9_]/g, "_")
  const lines = ["flowchart LR"]
  for (const { id, node } of graph.nodes) {
    const label = node.step !== undefined ? `${id}<br/>${node.step.name} → ${node.kind}` : `${id}<br/>${node.kind}`
    lines.push(`  ${safe(id)}["${label.replace(/"/g, "'")}"]`)
  }
  for (const { id, inputs } of graph.nodes) {
    for (const [name, from] of Object.entries(inputs)) lines.push(`  ${safe(from)} -->|${name}| ${safe(id)}`)
  }
  return lines.join("\n")
}
