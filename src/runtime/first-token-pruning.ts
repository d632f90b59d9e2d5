// First-token pruning: when the kept outputs read the final hidden state only through a
// first-token Gather (CLS pooling, the reranker's head), the last encoder layer computes the CLS
// row alone after its attention — queries for one row, keys/values for all tokens — so the same
// embeddings cost about 10/12 less of that layer. An ONNX → ONNX pass on the exported graph.
import { GraphEditor, normalizeDomain, opKey, readTensorBytes, type Attribute, type OnnxModel, type OnnxNode, type OnnxTensor } from "../onnx/index.ts"
import { RuntimeError } from "./errors.ts"

export interface FirstTokenPruning {
  readonly model: OnnxModel
  /** Whether the last layer now runs on the first token's row after its attention. */
  readonly pruned: boolean
  /** Why the graph was left unchanged (null when pruned). */
  readonly reason: string | null
  /** Nodes of the last layer that now see one row per sequence instead of all of them. */
  readonly rowNodes: number
}

export interface OutputPruning extends FirstTokenPruning {
  /** The graph outputs that remain, in graph order. */
  readonly outputs: readonly string[]
  /** Graph outputs dropped because they were not asked for. */
  readonly dropped: readonly string[]
}

/** Raised inside the pass when the pattern is not there; becomes the `reason`, never escapes. */
class PatternMismatch extends Error {}

const elementwiseBinary = new Set(["Add", "Sub", "Mul", "Div"])
const elementwiseUnary = new Set(["Erf", "Tanh", "Relu", "Sigmoid", "Identity"])
const supportedAttentionAttributes = new Set(["num_heads", "mask_filter_value", "scale"])

const intAttribute = (node: OnnxNode, name: string): number | undefined => {
  const a = node.attributes.find((x) => x.name === name)
  return a?.type === "int" ? Number(a.value) : undefined
}

const int64Tensor = (values: readonly number[]): Omit<OnnxTensor, "name"> => ({
  dtype: "int64",
  dims: [values.length],
  data: { kind: "bytes", bytes: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) },
})

const describe = (node: OnnxNode): string => `${opKey(node)} "${node.name}"`

/** Removes nodes none of whose outputs is read or is a graph output, until none is left. */
const removeDeadNodes = (editor: GraphEditor): void => {
  for (;;) {
    const used = new Set(editor.outputs.map((o) => o.name))
    for (const n of editor.nodes) for (const i of n.inputs) used.add(i)
    const dead = editor.nodes.filter((n) => !n.outputs.some((o) => o !== "" && used.has(o)))
    if (dead.length === 0) return
    for (const n of dead) editor.replace(n, [])
  }
}

/** The edited model, with value_info kept for the values that still exist (their types did not change). */
const buildEdited = (editor: GraphEditor): OnnxModel => {
  const live = new Set([...editor.inputs.map((v) => v.name), ...editor.nodes.flatMap((n) => n.outputs)])
  return editor.build({ keepValueInfo: (v) => live.has(v.name) })
}

/**
 * Keeps only the graph outputs named in `keep` (graph order) and drops the nodes that fed only
 * the others. Throws a RuntimeError ("invalid-option") naming the graph's outputs when a name in
 * `keep` is not one of them or `keep` is empty.
 */
export const keepOutputs = (model: OnnxModel, keep: readonly string[]): { model: OnnxModel; outputs: string[]; dropped: string[] } => {
  const present = model.graph.outputs.map((o) => o.name)
  if (keep.length === 0) throw new RuntimeError("invalid-option", `outputs: keep at least one of the graph's outputs (${present.join(", ")})`)
  const unknown = keep.filter((name) => !present.includes(name))
  if (unknown.length > 0) {
    throw new RuntimeError("invalid-option", `outputs: ${unknown.map((n) => `"${n}"`).join(", ")} ${unknown.length > 1 ? "are not graph outputs" : "is not a graph output"}; the graph has ${present.join(", ")}`)
  }
  const dropped = present.filter((name) => !keep.includes(name))
  if (dropped.length === 0) return { model, outputs: present, dropped }
  const editor = new GraphEditor(model)
  editor.outputs = editor.outputs.filter((o) => keep.includes(o.name))
  removeDeadNodes(editor)
  return { model: buildEdited(editor), outputs: present.filter((name) => keep.includes(name)), dropped }
}

/** Gather(x, 0 or [0], axis=1): the CLS row of a [batch, sequence, hidden] value. */
const firstTokenIndex = (editor: GraphEditor, node: OnnxNode): "scalar" | "vector" | undefined => {
  if (node.opType !== "Gather" || normalizeDomain(node.domain) !== "" || node.inputs.length !== 2 || intAttribute(node, "axis") !== 1) return undefined
  const index = node.inputs[1]!
  const tensor = editor.initializer(index)
  if (tensor === undefined || editor.inputs.some((i) => i.name === index)) return undefined
  if (tensor.dtype !== "int64" && tensor.dtype !== "int32") return undefined
  if (tensor.dims.length > 1 || (tensor.dims.length === 1 && tensor.dims[0] !== 1)) return undefined
  const bytes = readTensorBytes(tensor)
  if (!bytes.every((b) => b === 0)) return undefined
  return tensor.dims.length === 0 ? "scalar" : "vector"
}

/**
 * Moves the first-token row selection up through the last encoder layer. Leaves the graph
 * unchanged (pruned false, with the reason) unless every reader of the final hidden state is a
 * first-token Gather, the layer between it and its com.microsoft:Attention is made only of
 * row-wise ops (LayerNormalization, MatMul with a constant weight, elementwise ops with constant
 * or row-wise operands, residual Adds of the layer input), and the attention is the exporter's
 * float32 packed-QKV form with a 2-D int32 mask. Then: Q from the CLS row, K and V from all
 * rows, com.microsoft:MultiHeadAttention with the same mask, and the rest of the layer on
 * [batch, 1, hidden]; the old Gathers become Squeezes of that row.
 */
export const pruneFirstToken = (model: OnnxModel): FirstTokenPruning => {
  try {
    return rewrite(model)
  } catch (error) {
    if (error instanceof PatternMismatch) return reject(model, error.message)
    throw error
  }
}

/** keepOutputs, then pruneFirstToken on what remains. */
export const pruneForOutputs = (model: OnnxModel, keep: readonly string[]): OutputPruning => {
  const kept = keepOutputs(model, keep)
  return { ...pruneFirstToken(kept.model), outputs: kept.outputs, dropped: kept.dropped }
}

const rewrite = (model: OnnxModel): FirstTokenPruning => {
  const editor = new GraphEditor(model)
  const isGraphInput = (name: string) => editor.inputs.some((i) => i.name === name)
  const constant = (name: string): OnnxTensor | undefined => (isGraphInput(name) ? undefined : editor.initializer(name))

  // 1. The hidden state read through first-token Gathers, and nothing else reading it.
  const gathers = editor.nodes.filter((n) => firstTokenIndex(editor, n) !== undefined)
  const hiddenValues = [...new Set(gathers.map((n) => n.inputs[0]!))]
  if (hiddenValues.length === 0) throw new PatternMismatch("no kept output reads the hidden state through a first-token Gather (axis 1, index 0): not CLS pooling")
  if (hiddenValues.length > 1) throw new PatternMismatch(`first-token Gathers read ${hiddenValues.length} different values (${hiddenValues.join(", ")}); expected only the final hidden state`)
  const hidden = hiddenValues[0]!
  if (editor.isGraphOutput(hidden)) throw new PatternMismatch(`"${hidden}" (every token's hidden state) is itself a kept graph output; keep only pooled outputs to prune`)
  const others = editor.consumers(hidden).filter((n) => firstTokenIndex(editor, n) === undefined)
  if (others.length > 0) throw new PatternMismatch(`the final hidden state "${hidden}" is also read by ${others.map(describe).join(", ")}, which need${others.length > 1 ? "" : "s"} every token`)

  // 2. The last layer's attention: the last com.microsoft:Attention (in graph order) that feeds the hidden state.
  const ancestors = new Set<OnnxNode>()
  const pending = [hidden]
  const seen = new Set<string>()
  while (pending.length > 0) {
    const value = pending.pop()!
    if (seen.has(value)) continue
    seen.add(value)
    const producer = editor.producer(value)
    if (producer === undefined || ancestors.has(producer)) continue
    ancestors.add(producer)
    pending.push(...producer.inputs.filter((i) => i !== ""))
  }
  const isAttention = (n: OnnxNode) => opKey(n) === "com.microsoft:Attention"
  const attention = editor.nodes.filter((n) => ancestors.has(n)).findLast(isAttention)
  if (attention === undefined) {
    const kinds = [...new Set([...ancestors].filter((n) => n.opType.includes("Attention") || n.opType === "Softmax").map((n) => n.opType))]
    throw new PatternMismatch(`no com.microsoft:Attention feeds the final hidden state${kinds.length > 0 ? ` (found ${kinds.join(", ")}: an export with attention "onnx" or a quantized attention)` : ""}`)
  }
  const layerInput = attention.inputs[0]!

  // 3. The row of each value on the way, memoised; new nodes collect in `added`.
  const added: OnnxNode[] = []
  /** Added nodes that still see every token (the key and value projections). */
  let fullWidth = 0
  const rows = new Map<string, string>()
  /** Width (last dim) of each row value, for the value_info that lets ORT fuse Add + LayerNorm on [batch, 1, width]. */
  const widths = new Map<string, number>()
  const hiddenSize = constant(attention.inputs[1] ?? "")?.dims[0]
  const emit = (opType: string, inputs: readonly string[], base: string, options: { domain?: string; attributes?: Attribute[] } = {}): string => {
    const out = editor.freshValue(base)
    added.push(editor.makeNode(opType, inputs, [out], { name: `first_token/${opType}`, ...options }))
    return out
  }
  const rowOf = (value: string): string => {
    const done = rows.get(value)
    if (done !== undefined) return done
    const row = computeRow(value)
    rows.set(value, row)
    return row
  }
  const widthOf = (row: string): number | undefined => widths.get(row)
  const withWidth = (row: string, width: number | undefined): string => {
    if (width !== undefined) widths.set(row, width)
    return row
  }
  const computeRow = (value: string): string => {
    if (value === layerInput) {
      const [starts, ends, axes] = [[0], [1], [1]].map((v, i) => editor.addInitializer(`first_token_slice_${["starts", "ends", "axes"][i]}`, int64Tensor(v)))
      return withWidth(emit("Slice", [value, starts!, ends!, axes!], `${value}_first_token`), hiddenSize)
    }
    const node = editor.producer(value)
    if (node === undefined) throw new PatternMismatch(`the last layer reads "${value}", which no node produces, before reaching its attention`)
    const domain = normalizeDomain(node.domain)
    if (node === attention) return attentionRow(node)
    if (isAttention(node)) throw new PatternMismatch(`the last layer reaches a second attention (${describe(node)}) besides ${describe(attention)}`)
    if (domain !== "") throw new PatternMismatch(`${describe(node)} in the last layer is not an op the row selection can move through`)
    if (node.outputs.filter((o) => o !== "").length !== 1) throw new PatternMismatch(`${describe(node)} has several outputs`)
    const base = `${value}_first_token`
    switch (node.opType) {
      case "LayerNormalization": {
        const [x, scale, bias] = node.inputs
        const axis = intAttribute(node, "axis") ?? -1
        if (axis !== -1) throw new PatternMismatch(`${describe(node)} normalises axis ${axis}, not the hidden axis (-1)`)
        for (const p of [scale, bias].filter((p): p is string => p !== undefined && p !== "")) {
          if ((constant(p)?.dims.length ?? 2) > 1) throw new PatternMismatch(`${describe(node)}: "${p}" is not a constant vector`)
        }
        const xRow = rowOf(x!)
        return withWidth(emit("LayerNormalization", [xRow, ...node.inputs.slice(1)], base, { attributes: [...node.attributes] }), widthOf(xRow))
      }
      case "MatMul": {
        const weight = constant(node.inputs[1]!)
        if (weight === undefined || weight.dims.length !== 2) throw new PatternMismatch(`${describe(node)}: the second input "${node.inputs[1]}" is not a constant 2-D weight`)
        return withWidth(emit("MatMul", [rowOf(node.inputs[0]!), node.inputs[1]!], base), weight.dims[1])
      }
      default:
        if (elementwiseUnary.has(node.opType) || node.opType === "Cast") {
          const xRow = rowOf(node.inputs[0]!)
          return withWidth(emit(node.opType, [xRow], base, { attributes: [...node.attributes] }), node.opType === "Cast" ? undefined : widthOf(xRow))
        }
        if (elementwiseBinary.has(node.opType) && node.inputs.length === 2) {
          // A constant operand of rank ≤ 1 only broadcasts along the hidden axis, so it commutes with the row selection.
          const inputs = node.inputs.map((input) => {
            const c = constant(input)
            if (c === undefined) return rowOf(input)
            if (c.dims.length > 1) throw new PatternMismatch(`${describe(node)}: constant "${input}" has rank ${c.dims.length}; only scalars and vectors broadcast along the hidden axis alone`)
            return input
          })
          if (inputs.every((input, i) => input === node.inputs[i])) throw new PatternMismatch(`${describe(node)} has only constant inputs`)
          const computed = inputs.filter((input, i) => input !== node.inputs[i]).map(widthOf)
          return withWidth(emit(node.opType, inputs, base, { attributes: [...node.attributes] }), computed.every((w) => w === computed[0]) ? computed[0] : undefined)
        }
        throw new PatternMismatch(`${describe(node)} in the last layer is not a row-wise op (LayerNormalization, MatMul with a constant weight, elementwise ops); the row selection cannot move through it`)
    }
  }

  const attentionRow = (node: OnnxNode): string => {
    const extra = node.attributes.filter((a) => !supportedAttentionAttributes.has(a.name))
    if (extra.length > 0) throw new PatternMismatch(`${describe(node)} has attribute${extra.length > 1 ? "s" : ""} ${extra.map((a) => a.name).join(", ")}; only num_heads (with mask_filter_value, scale) has a MultiHeadAttention equivalent here`)
    const heads = intAttribute(node, "num_heads")
    if (heads === undefined || heads < 1) throw new PatternMismatch(`${describe(node)} has no num_heads`)
    const [x, weightName, biasName, mask, ...rest] = node.inputs
    if (rest.some((i) => i !== "")) throw new PatternMismatch(`${describe(node)} has past state or an attention bias input`)
    if (node.outputs.filter((o) => o !== "").length !== 1) throw new PatternMismatch(`${describe(node)} has a present-state output`)
    const weight = constant(weightName ?? "")
    const bias = biasName ? constant(biasName) : undefined
    if (weight === undefined || weight.dims.length !== 2 || weight.dims[1] !== 3 * weight.dims[0]!) throw new PatternMismatch(`${describe(node)}: the weight "${weightName}" is not a constant packed Q|K|V weight [hidden, 3·hidden]`)
    if (weight.dtype !== "float32") throw new PatternMismatch(`${describe(node)}: the weight is ${weight.dtype}; only float32 graphs are pruned (ORT's CPU MultiHeadAttention is float32)`)
    const H = weight.dims[0]!
    if (bias === undefined || bias.dims.length !== 1 || bias.dims[0] !== 3 * H || bias.dtype !== "float32") throw new PatternMismatch(`${describe(node)}: the bias "${biasName}" is not a constant float32 [3·hidden] vector`)
    if (H % heads !== 0) throw new PatternMismatch(`${describe(node)}: hidden size ${H} is not a multiple of num_heads ${heads}`)
    if (mask !== undefined && mask !== "") checkPaddingMask(editor, node, mask)

    const part = (tensor: OnnxTensor, which: number, label: string): string => {
      const rowsOf = tensor.dims.length === 2 ? tensor.dims[0]! : 1
      // Read (and slice) the packed tensor only when the model is written.
      return editor.addInitializer(`${tensor.name}.${label}`, {
        dtype: "float32",
        dims: tensor.dims.length === 2 ? [H, H] : [H],
        data: {
          kind: "lazy",
          load: () => {
            const packed = new Float32Array(new Uint8Array(readTensorBytes(tensor)).buffer)
            const out = new Float32Array(rowsOf * H)
            for (let r = 0; r < rowsOf; r++) out.set(packed.subarray(r * 3 * H + which * H, r * 3 * H + (which + 1) * H), r * H)
            return new Uint8Array(out.buffer)
          },
        },
      })
    }
    const projection = (input: string, which: number, label: string) =>
      emit("Add", [emit("MatMul", [input, part(weight, which, label)], `${node.outputs[0]}_${label}_matmul`), part(bias, which, label)], `${node.outputs[0]}_${label}`)
    const query = withWidth(projection(rowOf(x!), 0, "query"), H)
    const before = added.length
    const key = projection(x!, 1, "key")
    const value = projection(x!, 2, "value")
    fullWidth += added.length - before
    const attributes = node.attributes.filter((a) => supportedAttentionAttributes.has(a.name))
    return withWidth(emit("MultiHeadAttention", [query, key, value, "", mask ?? ""], `${node.outputs[0]}_first_token`, { domain: "com.microsoft", attributes }), H)
  }

  let rowHidden: string
  try {
    rowHidden = rowOf(hidden)
  } catch (error) {
    if (error instanceof PatternMismatch) throw new PatternMismatch(`last layer: ${error.message}`)
    throw error
  }

  // 4. The old first-token Gathers read the new row: [batch, 1, hidden] → [batch, hidden] for a scalar index.
  const opset = model.opsetImports.find((o) => normalizeDomain(o.domain) === "")?.version ?? 1
  editor.insertBefore(gathers[0]!, added)
  for (const gather of gathers) {
    const squeezed =
      firstTokenIndex(editor, gather) === "vector"
        ? editor.makeNode("Identity", [rowHidden], gather.outputs, { name: `${gather.name}/first_token` })
        : opset >= 13
          ? editor.makeNode("Squeeze", [rowHidden, editor.addInitializer("first_token_squeeze_axes", int64Tensor([1]))], gather.outputs, { name: `${gather.name}/first_token` })
          : editor.makeNode("Squeeze", [rowHidden], gather.outputs, { name: `${gather.name}/first_token`, attributes: [{ name: "axes", type: "ints", value: [1] }] })
    editor.replace(gather, [squeezed])
  }
  removeDeadNodes(editor)
  if (editor.nodes.includes(attention)) {
    const readers = editor.consumers(attention.outputs[0]!)
    return reject(model, `the last layer's attention output is also read by ${readers.map(describe).join(", ")}; pruning would not save its work`)
  }
  // Shape inference does not carry [batch, 1, width] through Slice and MultiHeadAttention; without
  // it ORT's SkipLayerNormalization fusion refuses the last layer's residual Adds.
  const batch = editor.inputs[0]?.dims?.[0] ?? null
  const edited = buildEdited(editor)
  const live = new Set(edited.graph.nodes.flatMap((n) => n.outputs))
  const rowInfos = batch === null ? [] : [...widths].filter(([value]) => live.has(value)).map(([name, width]) => ({ name, dtype: "float32" as const, dims: [batch, 1, width] }))
  return {
    model: { ...edited, graph: { ...edited.graph, valueInfos: [...edited.graph.valueInfos, ...rowInfos] } },
    pruned: true,
    reason: null,
    rowNodes: added.length - fullWidth,
  }
}

const reject = (model: OnnxModel, reason: string): FirstTokenPruning => ({ model, pruned: false, reason, rowNodes: 0 })

/** The mask must be the exporter's 2-D int32 [batch, sequence] form (a graph input, or a Cast of one to int32). */
const checkPaddingMask = (editor: GraphEditor, attention: OnnxNode, mask: string): void => {
  const input = (name: string) => editor.inputs.find((i) => i.name === name)
  const direct = input(mask)
  if (direct !== undefined && direct.dtype === "int32" && direct.dims?.length === 2) return
  const cast = editor.producer(mask)
  if (cast !== undefined && cast.opType === "Cast" && normalizeDomain(cast.domain) === "" && intAttribute(cast, "to") === 6) {
    const source = input(cast.inputs[0]!)
    if (source !== undefined && source.dims?.length === 2) return
  }
  throw new PatternMismatch(`${describe(attention)}: the mask "${mask}" is not a 2-D int32 [batch, sequence] padding mask`)
}
