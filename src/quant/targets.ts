// What the int8 passes can quantize: MatMul/Gemm nodes whose B is a constant 2-D weight (with the
// bias Add that follows a MatMul), com.microsoft:Attention with packed constant QKV weights, and
// embedding Gathers. Everything else, including MatMuls of two activations (attention scores), is
// never a candidate.

import { tensorToFloat32, type GraphEditor, type OnnxNode, type OnnxTensor } from "../onnx/index.ts"
import { nodeLayerIndex } from "./layer-index.ts"

export interface LinearTarget {
  readonly kind: "linear"
  readonly node: OnnxNode
  readonly activation: string
  /** Weight values as [K, N] (Gemm transB weights are transposed here). */
  readonly weight: { readonly name: string; readonly k: number; readonly n: number; readonly data: () => Float32Array }
  /** The following Add (MatMul) or Gemm's C, as a [N] constant. */
  readonly bias: { readonly add: OnnxNode | undefined; readonly name: string; readonly data: () => Float32Array } | undefined
  /** The value the rewritten pattern must produce (the Add's output when the bias is folded in). */
  readonly output: string
  readonly layer: number | undefined
}

export interface AttentionTarget {
  readonly kind: "attention"
  readonly node: OnnxNode
  readonly activation: string
  readonly weight: { readonly name: string; readonly k: number; readonly n: number; readonly data: () => Float32Array }
  readonly bias: string
  readonly mask: string | undefined
  readonly layer: number | undefined
}

export interface GatherTarget {
  readonly kind: "gather"
  readonly node: OnnxNode
  readonly table: { readonly name: string; readonly rows: number; readonly cols: number; readonly data: () => Float32Array }
  readonly layer: number | undefined
}

export type QuantTarget = LinearTarget | AttentionTarget | GatherTarget

/** A candidate left in float, and why (recorded in kiln.json). */
export interface SkippedNode {
  readonly node: string
  readonly opType: string
  readonly reason: string
}

const attributeNumber = (node: OnnxNode, name: string, fallback: number): number => {
  const a = node.attributes.find((x) => x.name === name)
  if (a === undefined) return fallback
  return a.type === "int" || a.type === "float" ? Number(a.value) : fallback
}

const floatWeight = (t: OnnxTensor | undefined): t is OnnxTensor => t !== undefined && t.dtype === "float32"

/** Attributes QAttention accepts; an Attention node with any other is left in float. */
export const QATTENTION_ATTRIBUTES = new Set(["num_heads", "unidirectional", "mask_filter_value", "scale", "do_rotary"])

export const findTargets = (editor: GraphEditor): { targets: QuantTarget[]; skipped: SkippedNode[] } => {
  const targets: QuantTarget[] = []
  const skipped: SkippedNode[] = []
  const isInit = (name: string) => editor.initializer(name) !== undefined
  const skip = (node: OnnxNode, reason: string) => skipped.push({ node: node.name, opType: node.opType, reason })
  for (const node of editor.nodes) {
    const domain = node.domain
    const layer = nodeLayerIndex(node, isInit)
    if (domain === "" && node.opType === "MatMul") {
      const w = editor.initializer(node.inputs[1] ?? "")
      if (w === undefined) continue // activation × activation (attention scores): never quantized
      if (!floatWeight(w) || w.dims.length !== 2) {
        skip(node, `weight ${w.name} is ${w.dtype}[${w.dims.join(", ")}], not a float32 matrix`)
        continue
      }
      const [k, n] = w.dims as [number, number]
      const out = node.outputs[0]!
      const users = editor.consumers(out)
      const add = users.length === 1 && !editor.isGraphOutput(out) && users[0]!.opType === "Add" && users[0]!.domain === "" ? users[0]! : undefined
      const biasName = add?.inputs.find((x) => x !== out)
      const biasTensor = biasName === undefined ? undefined : editor.initializer(biasName)
      const biasOk = add !== undefined && floatWeight(biasTensor) && biasTensor.dims.reduce((a, b) => a * b, 1) === n && biasTensor.dims.at(-1) === n
      targets.push({
        kind: "linear",
        node,
        activation: node.inputs[0]!,
        weight: { name: w.name, k, n, data: () => tensorToFloat32(w) },
        bias: biasOk ? { add, name: biasTensor!.name, data: () => tensorToFloat32(biasTensor!) } : undefined,
        output: biasOk ? add!.outputs[0]! : out,
        layer,
      })
    } else if (domain === "" && node.opType === "Gemm") {
      const w = editor.initializer(node.inputs[1] ?? "")
      if (w === undefined) continue
      if (!floatWeight(w) || w.dims.length !== 2) {
        skip(node, `weight ${w.name} is ${w.dtype}[${w.dims.join(", ")}], not a float32 matrix`)
        continue
      }
      if (attributeNumber(node, "transA", 0) !== 0 || attributeNumber(node, "alpha", 1) !== 1 || attributeNumber(node, "beta", 1) !== 1) {
        skip(node, "Gemm with transA, alpha ≠ 1 or beta ≠ 1 is left in float")
        continue
      }
      const transB = attributeNumber(node, "transB", 0) !== 0
      const [k, n] = (transB ? [w.dims[1], w.dims[0]] : w.dims) as [number, number]
      const c = node.inputs[2] ? editor.initializer(node.inputs[2]) : undefined
      if (node.inputs[2] && (!floatWeight(c) || c.dims.reduce((a, b) => a * b, 1) !== n)) {
        skip(node, `Gemm bias ${node.inputs[2]} is not a constant [${n}] vector`)
        continue
      }
      const data = () => {
        const raw = tensorToFloat32(w)
        if (!transB) return raw
        const out = new Float32Array(k * n)
        for (let r = 0; r < n; r++) for (let col = 0; col < k; col++) out[col * n + r] = raw[r * k + col]!
        return out
      }
      targets.push({
        kind: "linear",
        node,
        activation: node.inputs[0]!,
        weight: { name: w.name, k, n, data },
        bias: c ? { add: undefined, name: c.name, data: () => tensorToFloat32(c) } : undefined,
        output: node.outputs[0]!,
        layer,
      })
    } else if (domain === "com.microsoft" && node.opType === "Attention") {
      const w = editor.initializer(node.inputs[1] ?? "")
      const b = node.inputs[2] ? editor.initializer(node.inputs[2]) : undefined
      const unsupported = node.attributes.find((a) => !QATTENTION_ATTRIBUTES.has(a.name))
      if (!floatWeight(w) || w.dims.length !== 2) skip(node, "packed QKV weight is not a constant float32 matrix")
      else if (!floatWeight(b)) skip(node, "QAttention needs a constant float32 QKV bias")
      else if (node.inputs.slice(4).some((x) => x !== "")) skip(node, "past state or attention bias inputs have no QAttention equivalent")
      else if (unsupported) skip(node, `attribute ${unsupported.name} has no QAttention equivalent`)
      else
        targets.push({
          kind: "attention",
          node,
          activation: node.inputs[0]!,
          weight: { name: w.name, k: w.dims[0]!, n: w.dims[1]!, data: () => tensorToFloat32(w) },
          bias: b.name,
          mask: node.inputs[3] || undefined,
          layer,
        })
    } else if (domain === "" && node.opType === "Gather") {
      const table = editor.initializer(node.inputs[0] ?? "")
      if (!floatWeight(table) || table.dims.length !== 2 || attributeNumber(node, "axis", 0) !== 0) continue
      targets.push({ kind: "gather", node, table: { name: table.name, rows: table.dims[0]!, cols: table.dims[1]!, data: () => tensorToFloat32(table) }, layer })
    }
  }
  return { targets, skipped }
}
