// A mutable working copy of an ONNX graph for graph passes (quantization, pruning): producer/consumer lookups,
// fresh value and node names, node replacement in place, initializer bookkeeping, and a rebuild
// that drops unused initializers, adds opset imports and restores topological order.

import { OnnxBuildError } from "./errors.ts"
import { normalizeDomain, type OnnxModel, type OnnxNode, type OnnxTensor, type ValueInfo } from "./model.ts"

export class GraphEditor {
  readonly source: OnnxModel
  /** Node lists per original node position; a replaced node maps to its replacement nodes. */
  private readonly slots: OnnxNode[][]
  private readonly slotOf = new Map<OnnxNode, number>()
  private readonly initializers = new Map<string, OnnxTensor>()
  private readonly usedNames = new Set<string>()
  private readonly usedNodeNames = new Set<string>()
  private readonly extraOpsets = new Map<string, number>()
  outputs: ValueInfo[]
  inputs: ValueInfo[]

  constructor(model: OnnxModel) {
    this.source = model
    this.slots = model.graph.nodes.map((n) => [n])
    model.graph.nodes.forEach((n, i) => {
      this.slotOf.set(n, i)
      this.usedNodeNames.add(n.name)
      for (const o of n.outputs) this.usedNames.add(o)
    })
    for (const t of model.graph.initializers) {
      this.initializers.set(t.name, t)
      this.usedNames.add(t.name)
    }
    for (const v of model.graph.inputs) this.usedNames.add(v.name)
    this.outputs = [...model.graph.outputs]
    this.inputs = [...model.graph.inputs]
  }

  get nodes(): OnnxNode[] {
    return this.slots.flat()
  }

  initializer(name: string): OnnxTensor | undefined {
    return this.initializers.get(name)
  }

  isGraphOutput(value: string): boolean {
    return this.outputs.some((o) => o.name === value)
  }

  /** Nodes reading `value`, in graph order. */
  consumers(value: string): OnnxNode[] {
    return this.nodes.filter((n) => n.inputs.includes(value))
  }

  producer(value: string): OnnxNode | undefined {
    return this.nodes.find((n) => n.outputs.includes(value))
  }

  /** `base` if free, else `base_1`, `base_2`, …; the name is reserved. */
  freshValue(base: string): string {
    let name = base
    for (let i = 1; this.usedNames.has(name); i++) name = `${base}_${i}`
    this.usedNames.add(name)
    return name
  }

  freshNodeName(base: string): string {
    let name = base
    for (let i = 1; this.usedNodeNames.has(name); i++) name = `${base}_${i}`
    this.usedNodeNames.add(name)
    return name
  }

  /** Adds (or replaces, when `replace`) an initializer. */
  setInitializer(tensor: OnnxTensor, options: { replace?: boolean } = {}): string {
    if (this.initializers.has(tensor.name) && !options.replace) throw new OnnxBuildError(`${tensor.name}: internal error: initializer name already used`)
    this.initializers.set(tensor.name, tensor)
    this.usedNames.add(tensor.name)
    return tensor.name
  }

  /** A new initializer under a fresh name derived from `base`. */
  addInitializer(base: string, tensor: Omit<OnnxTensor, "name">): string {
    const name = this.freshValue(base)
    this.initializers.set(name, { ...tensor, name })
    return name
  }

  /** A node with a fresh name; `domain` "com.microsoft" registers that opset. */
  makeNode(opType: string, inputs: readonly string[], outputs: readonly string[], options: { name: string; domain?: string; attributes?: OnnxNode["attributes"] }): OnnxNode {
    const domain = normalizeDomain(options.domain ?? "")
    if (domain !== "") this.requireOpset(domain, 1)
    return { name: this.freshNodeName(options.name), opType, domain, inputs: [...inputs], outputs: [...outputs], attributes: options.attributes ?? [] }
  }

  requireOpset(domain: string, version: number): void {
    const existing = this.source.opsetImports.find((o) => normalizeDomain(o.domain) === domain)
    if (existing === undefined && (this.extraOpsets.get(domain) ?? 0) < version) this.extraOpsets.set(domain, version)
  }

  /** Puts `replacement` where `node` was (it may be empty to delete the node). */
  replace(node: OnnxNode, replacement: readonly OnnxNode[]): void {
    const slot = this.findSlot(node)
    const list = this.slots[slot]!
    const at = list.indexOf(node)
    list.splice(at, 1, ...replacement)
    for (const n of replacement) this.slotOf.set(n, slot)
  }

  /** Inserts nodes just before `node` (same slot). */
  insertBefore(node: OnnxNode, nodes: readonly OnnxNode[]): void {
    const slot = this.findSlot(node)
    const list = this.slots[slot]!
    list.splice(list.indexOf(node), 0, ...nodes)
    for (const n of nodes) this.slotOf.set(n, slot)
  }

  /** Rewrites every use of `from` as a node input to `to` (graph outputs are left alone). */
  renameUses(from: string, to: string, only?: (node: OnnxNode) => boolean): void {
    for (const list of this.slots)
      list.forEach((n, i) => {
        if (!n.inputs.includes(from) || (only && !only(n))) return
        const next = { ...n, inputs: n.inputs.map((x) => (x === from ? to : x)) }
        list[i] = next
        this.slotOf.set(next, this.slotOf.get(n)!)
      })
  }

  private findSlot(node: OnnxNode): number {
    const slot = this.slotOf.get(node)
    if (slot === undefined) throw new OnnxBuildError(`${node.name}: internal error: node is not in the graph being edited`)
    return slot
  }

  /** The edited model: nodes in topological order, unused initializers dropped, value_info cleared of stale types. */
  build(options: { keepValueInfo?: (v: ValueInfo) => boolean; docString?: string; producer?: string } = {}): OnnxModel {
    const nodes = topologicalOrder(this.nodes, new Set([...this.inputs.map((v) => v.name), ...this.initializers.keys()]))
    const used = new Set<string>()
    for (const n of nodes) for (const i of n.inputs) used.add(i)
    for (const o of this.outputs) used.add(o.name)
    const opsetImports = [...this.source.opsetImports]
    for (const [domain, version] of this.extraOpsets) opsetImports.push({ domain, version })
    const g = this.source.graph
    return {
      ...this.source,
      opsetImports,
      ...(options.producer !== undefined ? { producerName: options.producer } : {}),
      graph: {
        ...g,
        nodes,
        inputs: this.inputs,
        outputs: this.outputs,
        // Types of rewritten values change; keep only what the caller vouches for.
        valueInfos: g.valueInfos.filter(options.keepValueInfo ?? (() => false)),
        initializers: g.initializers
          .map((t) => this.initializers.get(t.name))
          .filter((t): t is OnnxTensor => t !== undefined && used.has(t.name))
          .concat([...this.initializers.values()].filter((t) => used.has(t.name) && !g.initializers.some((o) => o.name === t.name))),
      },
    }
  }
}

/** Stable topological sort: nodes keep their order unless an input is produced later. */
export const topologicalOrder = (nodes: readonly OnnxNode[], available: ReadonlySet<string>): OnnxNode[] => {
  const producerIndex = new Map<string, number>()
  nodes.forEach((n, i) => n.outputs.forEach((o) => o !== "" && producerIndex.set(o, i)))
  const pending = nodes.map((n) => new Set(n.inputs.filter((x) => x !== "" && !available.has(x) && producerIndex.has(x))))
  const dependents = new Map<number, number[]>()
  nodes.forEach((n, i) => {
    for (const x of pending[i]!) {
      const p = producerIndex.get(x)!
      dependents.set(p, [...(dependents.get(p) ?? []), i])
    }
  })
  const remaining = pending.map((s, i) => new Set([...s].map((x) => producerIndex.get(x)!).filter((p) => p !== i)))
  const ready: number[] = []
  remaining.forEach((s, i) => s.size === 0 && ready.push(i))
  const order: OnnxNode[] = []
  const done = new Set<number>()
  // A min-heap would be faster; graphs here have a few thousand nodes, and insertion keeps order.
  while (ready.length > 0) {
    ready.sort((a, b) => a - b)
    const i = ready.shift()!
    done.add(i)
    order.push(nodes[i]!)
    for (const d of dependents.get(i) ?? []) {
      const s = remaining[d]!
      s.delete(i)
      if (s.size === 0 && !done.has(d) && !ready.includes(d)) ready.push(d)
    }
  }
  if (order.length !== nodes.length) {
    const stuck = nodes.find((_, i) => !done.has(i))!
    throw new OnnxBuildError(`${stuck.name}: internal error: the rewritten graph has a cycle`)
  }
  return order
}
