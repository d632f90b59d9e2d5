// A model cut at its encoder-layer boundaries into consecutive segments, each its own small model:
// segment s reads graph inputs and values of earlier segments (the hidden state entering its layer,
// the attention mask) and hands on what later segments read. The sensitivity search runs the
// switchable model this way, so a configuration that switches only groups of layer k and later can
// start from the stored values entering layer k instead of re-running the layers before it
// (segmented-held-out.ts).
// Nodes are placed by the caller's layer of each node (anchors: nodes of the original model whose
// name or weights name a layer); every other node — residual Adds, the mask's Cast, the quantize
// nodes and switches the int8 rewrite added — goes as late as its consumers allow, so a quantize
// node lands beside the MatMul it feeds and ORT fuses the same patterns in a segment as in the whole
// model. A forward pass then lifts any node placed before one of its producers: segments only ever
// read earlier ones, whatever the names say.

import { QuantError } from "./quant-error.ts"
import type { OnnxModel, OnnxNode, OnnxTensor, ValueInfo } from "../onnx/index.ts"

export interface LayerSegment {
  readonly nodes: readonly OnnxNode[]
  /** Values read and not produced here: graph inputs and earlier segments' values (no initializers). */
  readonly inputs: readonly string[]
  /** Values produced here that later segments read, and the wanted output when produced here. */
  readonly outputs: readonly string[]
  /** Indices into `switchInput` read by this segment (through scalar-index Gathers). */
  readonly switches: readonly number[]
}

export interface LayerSegments {
  readonly segments: readonly LayerSegment[]
  /**
   * Segment `i` as a model. `types` gives the dtype and dims of every input that is not a graph
   * input (read off the tensors an earlier segment produced, batch and sequence axes named as the
   * graph inputs name them, so ORT sees the shapes it sees in the whole model and fuses alike).
   */
  build(i: number, types: ReadonlyMap<string, Pick<ValueInfo, "dtype" | "dims">>): OnnxModel
}

/** The scalar int64 index a switch Gather reads, or undefined when it is not one. */
const scalarIndex = (t: OnnxTensor | undefined): number | undefined => {
  if (t === undefined || t.dtype !== "int64" || t.dims.length !== 0 || t.data.kind !== "bytes" || t.data.bytes.byteLength !== 8) return undefined
  return Number(new DataView(t.data.bytes.buffer, t.data.bytes.byteOffset, 8).getBigInt64(0, true))
}

/**
 * Splits `model` (only what `output` needs) at layer boundaries. `layerOf` anchors nodes to a layer;
 * `switchInput`, when given, is a bool vector every reader of which must be a Gather with a constant
 * scalar index (what buildSwitchableInt8 makes), so each segment knows which flags it depends on.
 */
export const splitAtLayers = (model: OnnxModel, output: string, layerOf: (node: OnnxNode) => number | undefined, switchInput?: string): LayerSegments => {
  const g = model.graph
  const initializers = new Map(g.initializers.map((t) => [t.name, t]))
  const graphInputs = new Map(g.inputs.map((v) => [v.name, v]))
  const producerOf = new Map<string, number>()
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => o !== "" && producerOf.set(o, i)))
  if (!producerOf.has(output)) throw new QuantError("bad-params", output, "internal error: no node of the model produces this output")

  // Only the ancestors of `output`: the other heads are not measured.
  const needed = new Set<number>()
  const stack = [producerOf.get(output)!]
  while (stack.length > 0) {
    const i = stack.pop()!
    if (needed.has(i)) continue
    needed.add(i)
    for (const x of g.nodes[i]!.inputs) if (producerOf.has(x)) stack.push(producerOf.get(x)!)
  }
  const order = [...needed].sort((a, b) => a - b)
  for (const i of order)
    for (const x of g.nodes[i]!.inputs)
      if (producerOf.has(x) && producerOf.get(x)! > i) throw new QuantError("bad-params", g.nodes[i]!.name, "internal error: the model's nodes are not in topological order")

  const layers = [...new Set(order.map((i) => layerOf(g.nodes[i]!)).filter((l): l is number => l !== undefined))].sort((a, b) => a - b)
  const rank = new Map(layers.map((l, r) => [l, r]))
  const last = Math.max(0, layers.length - 1)
  const consumers = new Map<number, number[]>()
  for (const i of order)
    for (const x of g.nodes[i]!.inputs) {
      const p = producerOf.get(x)
      if (p !== undefined) consumers.set(p, [...(consumers.get(p) ?? []), i])
    }
  const seg = new Map<number, number>()
  for (const i of [...order].reverse()) {
    const layer = layerOf(g.nodes[i]!)
    seg.set(i, layer !== undefined ? rank.get(layer)! : Math.min(last, ...(consumers.get(i) ?? []).map((c) => seg.get(c)!)))
  }
  for (const i of order) for (const x of g.nodes[i]!.inputs) if (producerOf.has(x)) seg.set(i, Math.max(seg.get(i)!, seg.get(producerOf.get(x)!)!))

  // Nodes computed from the token inputs alone (the attention mask's Cast, position ids) are
  // recomputed in every segment reading them rather than handed on: ORT fuses them into what reads
  // them (EmbedLayerNormalization takes the mask), and a value crossing a boundary would change that.
  const inputOnly = new Set<number>()
  for (const i of order)
    if (g.nodes[i]!.inputs.every((x) => x === "" || initializers.has(x) || (graphInputs.has(x) && x !== switchInput) || inputOnly.has(producerOf.get(x) ?? -1))) inputOnly.add(i)
  const used = [...new Set(order.map((i) => seg.get(i)!))].sort((a, b) => a - b)
  const segments: LayerSegment[] = used.map((s) => {
    const own = new Set(order.filter((i) => seg.get(i) === s))
    const pending = [...own]
    while (pending.length > 0)
      for (const x of g.nodes[pending.pop()!]!.inputs) {
        const p = producerOf.get(x)
        if (p !== undefined && !own.has(p) && inputOnly.has(p)) {
          own.add(p)
          pending.push(p)
        }
      }
    const members = [...own].sort((a, b) => a - b)
    const produced = new Set(members.flatMap((i) => g.nodes[i]!.outputs))
    const inputs = [...new Set(members.flatMap((i) => g.nodes[i]!.inputs).filter((x) => x !== "" && !produced.has(x) && !initializers.has(x)))]
    const handedOn = new Set(members.filter((i) => seg.get(i) === s && !inputOnly.has(i)).flatMap((i) => g.nodes[i]!.outputs))
    const outputs = [...produced].filter((v) => v === output || (handedOn.has(v) && order.some((j) => seg.get(j)! > s && g.nodes[j]!.inputs.includes(v))))
    const switches: number[] = []
    if (switchInput !== undefined)
      for (const i of members) {
        const n = g.nodes[i]!
        if (!n.inputs.includes(switchInput)) continue
        const index = n.opType === "Gather" && n.inputs[0] === switchInput ? scalarIndex(initializers.get(n.inputs[1] ?? "")) : undefined
        if (index === undefined) throw new QuantError("bad-params", n.name, `internal error: reads ${switchInput} other than as a Gather of one constant flag`)
        switches.push(index)
      }
    return { nodes: members.map((i) => g.nodes[i]!), inputs, outputs, switches }
  })

  const build = (i: number, types: ReadonlyMap<string, Pick<ValueInfo, "dtype" | "dims">>): OnnxModel => {
    const s = segments[i]!
    const inputs: ValueInfo[] = s.inputs.map((name) => {
      const declared = graphInputs.get(name)
      if (declared !== undefined) return declared
      const type = types.get(name)
      if (type === undefined) throw new QuantError("bad-params", name, `internal error: segment ${i} reads this value but its type is unknown`)
      return { name, dtype: type.dtype, dims: type.dims }
    })
    const reads = new Set(s.nodes.flatMap((n) => n.inputs))
    return {
      ...model,
      graph: {
        ...g,
        name: `${g.name}_segment_${i}`,
        nodes: s.nodes,
        inputs,
        outputs: s.outputs.map((name) => ({ name, dtype: undefined, dims: undefined })),
        valueInfos: [],
        initializers: g.initializers.filter((t) => reads.has(t.name)),
      },
    }
  }
  return { segments, build }
}
