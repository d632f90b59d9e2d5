// Model → protobuf message objects. Top-level initializers are encoded without their bytes so the
// writer can stream those (inline or into external data); everything else is encoded whole.
import { onnxDataTypeOf } from "./dtype.ts"
import type { Attribute, OnnxGraph, OnnxModel, OnnxNode, OnnxTensor, ValueInfo } from "./model.ts"
import {
  type AttributeMsg,
  type GraphMsg,
  type ModelMsg,
  type NodeMsg,
  OnnxAttributeType,
  OnnxDataLocation,
  type StringStringEntryMsg,
  type TensorMsg,
  type ValueInfoMsg,
} from "./schema.ts"
import { readTensorBytes } from "./tensor-data.ts"

const utf8 = new TextEncoder()

// protobufjs takes int64 as number or decimal string (turned into a Long); bigint goes as a string.
type Int64In = number | string
const int64 = (v: number | bigint): Int64In => (typeof v === "bigint" ? v.toString() : v)

export const valueInfoMsg = (v: ValueInfo): ValueInfoMsg => {
  const msg: ValueInfoMsg = { name: v.name }
  if (v.dtype !== undefined) {
    const tensorType: NonNullable<NonNullable<ValueInfoMsg["type"]>["tensor_type"]> = { elem_type: onnxDataTypeOf(v.dtype) }
    if (v.dims !== undefined)
      tensorType.shape = { dim: v.dims.map((d) => (d === null ? {} : typeof d === "number" ? { dim_value: d } : { dim_param: d })) }
    msg.type = { tensor_type: tensorType }
  }
  if (v.docString) msg.doc_string = v.docString
  return msg
}

/** TensorProto fields other than the data itself. */
export const tensorHeaderMsg = (t: OnnxTensor): TensorMsg => {
  const msg: TensorMsg = { dims: [...t.dims], data_type: onnxDataTypeOf(t.dtype) }
  if (t.name) msg.name = t.name
  if (t.docString) msg.doc_string = t.docString
  return msg
}

/** TensorProto pointing at external data. Offset and length are always written, for readers that need them. */
export const externalTensorMsg = (t: OnnxTensor, location: string, offset: number, length: number): TensorMsg => {
  const entries: StringStringEntryMsg[] = [
    { key: "location", value: location },
    { key: "offset", value: String(offset) },
    { key: "length", value: String(length) },
  ]
  return { ...tensorHeaderMsg(t), external_data: entries, data_location: OnnxDataLocation.EXTERNAL }
}

/** A whole tensor with its bytes in raw_data (attribute tensors, nested-graph initializers). */
export const inlineTensorMsg = (t: OnnxTensor): TensorMsg => ({ ...tensorHeaderMsg(t), raw_data: readTensorBytes(t) })

const ATTRIBUTE_CODES: Record<Attribute["type"], number> = {
  float: OnnxAttributeType.FLOAT,
  int: OnnxAttributeType.INT,
  string: OnnxAttributeType.STRING,
  tensor: OnnxAttributeType.TENSOR,
  graph: OnnxAttributeType.GRAPH,
  floats: OnnxAttributeType.FLOATS,
  ints: OnnxAttributeType.INTS,
  strings: OnnxAttributeType.STRINGS,
  tensors: OnnxAttributeType.TENSORS,
  graphs: OnnxAttributeType.GRAPHS,
}

export const attributeMsg = (a: Attribute): AttributeMsg => {
  const msg: AttributeMsg = { name: a.name, type: ATTRIBUTE_CODES[a.type] }
  switch (a.type) {
    case "float": msg.f = a.value; break
    case "int": msg.i = int64(a.value) as number; break
    case "string": msg.s = utf8.encode(a.value); break
    case "tensor": msg.t = inlineTensorMsg(a.value); break
    case "graph": msg.g = graphMsg(a.value, true); break
    case "floats": msg.floats = [...a.value]; break
    case "ints": msg.ints = a.value.map(int64) as number[]; break
    case "strings": msg.strings = a.value.map((s) => utf8.encode(s)); break
    case "tensors": msg.tensors = a.value.map(inlineTensorMsg); break
    case "graphs": msg.graphs = a.value.map((g) => graphMsg(g, true)); break
  }
  return msg
}

export const nodeMsg = (n: OnnxNode): NodeMsg => {
  const msg: NodeMsg = { input: [...n.inputs], output: [...n.outputs], op_type: n.opType }
  if (n.name) msg.name = n.name
  if (n.attributes.length > 0) msg.attribute = n.attributes.map(attributeMsg)
  if (n.docString) msg.doc_string = n.docString
  if (n.domain) msg.domain = n.domain
  return msg
}

/** A graph message; initializers are included (inline) only when asked, for nested graphs. */
export const graphMsg = (g: OnnxGraph, withInitializers: boolean): GraphMsg => {
  const msg: GraphMsg = {
    node: g.nodes.map(nodeMsg),
    name: g.name,
    input: g.inputs.map(valueInfoMsg),
    output: g.outputs.map(valueInfoMsg),
    value_info: g.valueInfos.map(valueInfoMsg),
  }
  if (withInitializers) msg.initializer = g.initializers.map(inlineTensorMsg)
  if (g.docString) msg.doc_string = g.docString
  return msg
}

/** ModelProto fields other than `graph`. */
export const modelHeaderMsg = (m: OnnxModel): ModelMsg => {
  const msg: ModelMsg = {
    ir_version: m.irVersion,
    opset_import: m.opsetImports.map((o) => ({ domain: o.domain, version: o.version })),
  }
  if (m.producerName) msg.producer_name = m.producerName
  if (m.producerVersion) msg.producer_version = m.producerVersion
  if (m.domain) msg.domain = m.domain
  if (m.modelVersion) msg.model_version = m.modelVersion
  if (m.docString) msg.doc_string = m.docString
  if (m.metadata.length > 0) msg.metadata_props = m.metadata.map((e) => ({ key: e.key, value: e.value }))
  return msg
}
