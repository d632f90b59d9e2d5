// fp16 conversion: float32 weights and compute become float16, except nodes whose op type is on the
// keep-fp32 list (LayerNormalization and Softmax by default: their reductions lose accuracy in
// fp16) or that an exclude spec names; Casts go in at every precision boundary. Graph inputs and
// outputs stay float32 unless asked otherwise. Ops ORT has no CPU fp16 kernel for still run: ORT
// inserts its own Casts around them.

import { attr, GraphEditor, opKey, tensorToFloat32, type Attribute, type OnnxModel, type OnnxNode, type OnnxTensor } from "../onnx/index.ts"
import { resolveExclusions, type ExcludeSpec } from "./exclude.ts"
import { float32ToFloat16 } from "../tensor/index.ts"
import { inferValueTypes } from "./value-types.ts"

export interface Fp16ConversionOptions {
  readonly keepFp32: readonly string[]
  readonly keepIoFloat32: boolean
  readonly exclude?: ExcludeSpec
}

export interface Fp16Conversion {
  readonly model: OnnxModel
  /** Nodes computing in float32 and why. */
  readonly keptFp32: readonly { readonly node: string; readonly opType: string; readonly reason: string }[]
  readonly convertedInitializers: number
  readonly casts: number
}

/** Ops that already carry quantized data: their float inputs are scales, which stay float32. */
const QUANTIZED_OPS = new Set(["QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "com.microsoft:QAttention", "com.microsoft:DynamicQuantizeMatMul", "com.microsoft:MatMulIntegerToFloat"])
/** Ops whose float inputs need no Cast: they read any type. */
const TYPE_AGNOSTIC_INPUTS = new Set(["Cast", "Shape", "Size"])
const FLOAT = 1
const FLOAT16 = 10

const toHalfTensor = (t: OnnxTensor, name = t.name): OnnxTensor => {
  const half = float32ToFloat16(tensorToFloat32(t))
  return { name, dtype: "float16", dims: t.dims, data: { kind: "bytes", bytes: new Uint8Array(half.buffer, half.byteOffset, half.byteLength) } }
}

export const convertToFloat16 = (model: OnnxModel, options: Fp16ConversionOptions): Fp16Conversion => {
  const editor = new GraphEditor(model)
  const types = inferValueTypes(model)
  const isFloat = (v: string) => v !== "" && types.get(v) === "float32"
  const nodes = editor.nodes
  const excluded = resolveExclusions(nodes, (n) => editor.initializer(n) !== undefined, options.exclude)
  const keep = new Set(options.keepFp32)

  const keptFp32: Fp16Conversion["keptFp32"][number][] = []
  const half = new Set<OnnxNode>()
  for (const node of nodes) {
    const key = opKey(node)
    const touchesFloat = node.inputs.some(isFloat) || node.outputs.some(isFloat)
    if (!touchesFloat) continue
    const reason = keep.has(node.opType) || keep.has(key) ? `keepFp32 "${keep.has(key) ? key : node.opType}"` : excluded.get(node.name) ?? (QUANTIZED_OPS.has(key) ? "already quantized" : undefined)
    if (reason !== undefined) keptFp32.push({ node: node.name, opType: key, reason })
    else half.add(node)
  }

  // Precision of each float value: where it is produced, or for initializers where it is read.
  const halfValues = new Set<string>()
  for (const input of model.graph.inputs) if (isFloat(input.name) && !options.keepIoFloat32) halfValues.add(input.name)
  let convertedInitializers = 0
  for (const t of model.graph.initializers) {
    if (t.dtype !== "float32") continue
    const readers = nodes.filter((n) => n.inputs.includes(t.name))
    if (!readers.some((n) => half.has(n) && !TYPE_AGNOSTIC_INPUTS.has(n.opType))) continue
    editor.setInitializer(toHalfTensor(t), { replace: true })
    halfValues.add(t.name)
    convertedInitializers++
  }
  for (const node of half) for (const o of node.outputs) if (isFloat(o)) halfValues.add(o)

  // Casts at boundaries, one per (value, direction), placed before the first reader.
  const casts = new Map<string, string>()
  const castOf = (value: string, toHalf: boolean, before: OnnxNode): string => {
    const key = `${value}|${toHalf}`
    let out = casts.get(key)
    if (out === undefined) {
      out = editor.freshValue(`${value}_${toHalf ? "fp16" : "fp32"}`)
      editor.insertBefore(before, [editor.makeNode("Cast", [value], [out], { name: `${value}_Cast_${toHalf ? "fp16" : "fp32"}`, attributes: [{ name: "to", type: "int", value: toHalf ? FLOAT16 : FLOAT }] })])
      casts.set(key, out)
    }
    return out
  }
  for (const node of nodes) {
    const wantHalf = half.has(node)
    let changed = false
    const inputs = node.inputs.map((v) => {
      if (!isFloat(v) || TYPE_AGNOSTIC_INPUTS.has(node.opType) || halfValues.has(v) === wantHalf) return v
      changed = true
      return castOf(v, wantHalf, node)
    })
    let attributes: readonly Attribute[] = node.attributes
    if (wantHalf) {
      attributes = node.attributes.map((a): Attribute => {
        if (node.opType === "Cast" && a.name === "to" && a.type === "int" && Number(a.value) === FLOAT) return { name: "to", type: "int", value: FLOAT16 }
        if ((node.opType === "Constant" || node.opType === "ConstantOfShape") && a.name === "value" && a.type === "tensor" && a.value.dtype === "float32")
          return { name: a.name, ...attr.tensor(toHalfTensor(a.value)) }
        return a
      })
      if (node.opType === "Constant" && node.attributes.some((a) => a.name === "value_float" || a.name === "value_floats")) {
        const a = node.attributes.find((x) => x.name === "value_float" || x.name === "value_floats")!
        const values = a.type === "float" ? [a.value] : a.type === "floats" ? [...a.value] : []
        const dims = a.name === "value_float" ? [] : [values.length]
        const t: OnnxTensor = { name: "", dtype: "float32", dims, data: { kind: "bytes", bytes: new Uint8Array(Float32Array.from(values).buffer) } }
        attributes = [{ name: "value", ...attr.tensor(toHalfTensor(t)) }]
      }
      changed ||= attributes !== node.attributes
    }
    if (changed) editor.replace(node, [{ ...node, inputs, attributes }])
  }

  // Graph outputs: float32 through a final Cast, or declared float16.
  editor.outputs = editor.outputs.map((o) => {
    if (!isFloat(o.name) || !halfValues.has(o.name)) return o
    if (!options.keepIoFloat32) return { ...o, dtype: "float16" }
    const inner = editor.freshValue(`${o.name}_fp16`)
    const producer = editor.producer(o.name)
    if (producer === undefined) return o
    editor.replace(producer, [{ ...producer, outputs: producer.outputs.map((x) => (x === o.name ? inner : x)) }])
    editor.renameUses(o.name, inner)
    const cast = editor.makeNode("Cast", [inner], [o.name], { name: `${o.name}_Cast_fp32`, attributes: [{ name: "to", type: "int", value: FLOAT }] })
    const reader = editor.consumers(inner)[0]
    if (reader) editor.insertBefore(reader, [cast])
    else editor.replace(editor.producer(inner)!, [editor.producer(inner)!, cast])
    casts.set(`${o.name}|out`, o.name)
    return o
  })
  editor.inputs = editor.inputs.map((i) => (isFloat(i.name) && !options.keepIoFloat32 ? { ...i, dtype: "float16" } : i))
  return { model: editor.build({ producer: "kiln-quantize" }), keptFp32, convertedInitializers, casts: casts.size }
}
