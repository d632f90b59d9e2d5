// Element types of every value in a graph, propagated from inputs and initializers by per-op rules
// (enough for encoder graphs: casts, shape arithmetic, comparisons, quantization ops; other ops
// take the type of their first typed input). The fp16 pass needs to know which values are float32.

import { opKey, type ElementType, type OnnxModel, elementTypeFromOnnx } from "../onnx/index.ts"

const INT64_OUTPUTS = new Set(["Shape", "Size", "NonZero", "ArgMax", "ArgMin"])
const BOOL_OUTPUTS = new Set(["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf"])

export const inferValueTypes = (model: OnnxModel): Map<string, ElementType> => {
  const types = new Map<string, ElementType>()
  for (const v of model.graph.inputs) if (v.dtype !== undefined) types.set(v.name, v.dtype)
  for (const t of model.graph.initializers) types.set(t.name, t.dtype)
  for (const v of [...model.graph.valueInfos, ...model.graph.outputs]) if (v.dtype !== undefined && !types.has(v.name)) types.set(v.name, v.dtype)
  const attr = (node: OnnxModel["graph"]["nodes"][number], name: string) => node.attributes.find((a) => a.name === name)
  for (const node of model.graph.nodes) {
    const first = node.inputs.map((i) => types.get(i)).find((t) => t !== undefined)
    const key = opKey(node)
    const outputTypes: (ElementType | undefined)[] = node.outputs.map(() => first)
    if (node.opType === "Cast" && node.domain === "") {
      const to = attr(node, "to")
      outputTypes[0] = to?.type === "int" ? elementTypeFromOnnx(Number(to.value)) : undefined
    } else if (node.opType === "Constant") {
      const value = attr(node, "value")
      outputTypes[0] = value?.type === "tensor" ? value.value.dtype : attr(node, "value_float") || attr(node, "value_floats") ? "float32" : "int64"
    } else if (node.opType === "ConstantOfShape") {
      const value = attr(node, "value")
      outputTypes[0] = value?.type === "tensor" ? value.value.dtype : "float32"
    } else if (INT64_OUTPUTS.has(node.opType)) outputTypes.fill("int64")
    else if (BOOL_OUTPUTS.has(node.opType)) outputTypes.fill("bool")
    else if (node.opType === "Where") outputTypes[0] = types.get(node.inputs[1] ?? "")
    else if (key === "DynamicQuantizeLinear") {
      outputTypes[0] = "uint8"
      outputTypes[1] = "float32"
      outputTypes[2] = "uint8"
    } else if (key === "QuantizeLinear") outputTypes[0] = types.get(node.inputs[2] ?? "") ?? "uint8"
    else if (key === "DequantizeLinear") outputTypes[0] = types.get(node.inputs[1] ?? "") ?? "float32"
    else if (key === "MatMulInteger") outputTypes[0] = "int32"
    else if (key === "com.microsoft:QAttention" || key === "com.microsoft:DynamicQuantizeMatMul" || key === "com.microsoft:MatMulIntegerToFloat")
      outputTypes.fill("float32")
    node.outputs.forEach((o, i) => {
      const t = outputTypes[i]
      if (o !== "" && t !== undefined) types.set(o, t)
    })
  }
  return types
}
