// Reads an .onnx file into the in-memory model. External initializer data stays on disk (read on
// demand by path, offset and length) unless asked for; locations that leave the model's directory
// are refused, since a model file must not make us read arbitrary files.
import { realpathSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { dirname, isAbsolute, relative, resolve, win32 } from "node:path"
import { type ElementType, elementTypeFromOnnx } from "./dtype.ts"
import { OnnxReadError } from "./errors.ts"
import type { Attribute, Dim, OnnxGraph, OnnxModel, OnnxNode, OnnxTensor, TensorData, ValueInfo } from "./model.ts"
import {
  type AttributeMsg,
  type GraphMsg,
  type Int64,
  type ModelMsg,
  ModelProtoType,
  type NodeMsg,
  OnnxAttributeType,
  OnnxDataLocation,
  type TensorMsg,
  type ValueInfoMsg,
} from "./schema.ts"
import { readTensorBytes } from "./tensor-data.ts"

export interface ReadModelOptions {
  /** Read external initializer bytes into memory now (default false: read on demand). */
  readonly loadExternalData?: boolean
}

interface Context {
  readonly modelPath: string
  readonly dir: string
  readonly loadExternalData: boolean
}

export const readModel = async (path: string, options: ReadModelOptions = {}): Promise<OnnxModel> => {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (cause) {
    throw new OnnxReadError(`cannot read ONNX model ${path}: ${(cause as Error).message}`, path, { cause })
  }
  return decodeModel(bytes, path, options)
}

/** Decodes model bytes; `modelPath` locates external data and names the file in errors. */
export const decodeModel = (bytes: Uint8Array, modelPath: string, options: ReadModelOptions = {}): OnnxModel => {
  let msg: ModelMsg
  try {
    msg = ModelProtoType.toObject(ModelProtoType.decode(bytes), { longs: String, defaults: false }) as ModelMsg
  } catch (cause) {
    throw new OnnxReadError(`${modelPath} is not a valid ONNX model (protobuf decoding failed: ${(cause as Error).message})`, modelPath, { cause })
  }
  if (!msg.graph) throw new OnnxReadError(`${modelPath} has no graph (ModelProto.graph is missing); is it an ONNX model?`, modelPath)
  const ctx: Context = { modelPath: resolve(modelPath), dir: dirname(resolve(modelPath)), loadExternalData: options.loadExternalData ?? false }
  return {
    irVersion: toSafeNumber(ctx, msg.ir_version ?? 0, "ir_version"),
    opsetImports: (msg.opset_import ?? []).map((o) => ({ domain: o.domain ?? "", version: toSafeNumber(ctx, o.version ?? 0, "opset_import.version") })),
    producerName: msg.producer_name ?? "",
    producerVersion: msg.producer_version ?? "",
    domain: msg.domain ?? "",
    modelVersion: toSafeNumber(ctx, msg.model_version ?? 0, "model_version"),
    docString: msg.doc_string ?? "",
    metadata: (msg.metadata_props ?? []).map((e) => ({ key: e.key ?? "", value: e.value ?? "" })),
    graph: graphFromMsg(ctx, msg.graph, "graph"),
  }
}

const int64Value = (v: Int64): number | bigint => {
  const s = typeof v === "number" ? String(v) : v.toString()
  const n = Number(s)
  return Number.isSafeInteger(n) ? n : BigInt(s)
}

const toSafeNumber = (ctx: Context, v: Int64, field: string): number => {
  const n = int64Value(v)
  if (typeof n === "bigint") throw new OnnxReadError(`${ctx.modelPath}: ${field} = ${n} is out of range`, ctx.modelPath)
  return n
}

const graphFromMsg = (ctx: Context, g: GraphMsg, where: string): OnnxGraph => ({
  name: g.name ?? "",
  nodes: (g.node ?? []).map((n, i) => nodeFromMsg(ctx, n, `${where} node ${n.name ? `"${n.name}"` : `#${i}`} (${n.op_type ?? "?"})`)),
  inputs: (g.input ?? []).map((v) => valueInfoFromMsg(ctx, v)),
  outputs: (g.output ?? []).map((v) => valueInfoFromMsg(ctx, v)),
  valueInfos: (g.value_info ?? []).map((v) => valueInfoFromMsg(ctx, v)),
  initializers: (g.initializer ?? []).map((t) => tensorFromMsg(ctx, t, `initializer "${t.name ?? ""}"`)),
  ...(g.doc_string ? { docString: g.doc_string } : {}),
})

const valueInfoFromMsg = (ctx: Context, v: ValueInfoMsg): ValueInfo => {
  const tensorType = v.type?.tensor_type
  const dtype = tensorType?.elem_type ? elementTypeFromOnnx(tensorType.elem_type) : undefined
  const dims: Dim[] | undefined = tensorType?.shape
    ? (tensorType.shape.dim ?? []).map((d) =>
        d.dim_value !== undefined ? toSafeNumber(ctx, d.dim_value, `dim of "${v.name}"`) : d.dim_param !== undefined ? d.dim_param : null,
      )
    : undefined
  return { name: v.name ?? "", dtype, dims, ...(v.doc_string ? { docString: v.doc_string } : {}) }
}

const utf8 = new TextDecoder()

const nodeFromMsg = (ctx: Context, n: NodeMsg, where: string): OnnxNode => ({
  name: n.name ?? "",
  opType: n.op_type ?? "",
  domain: n.domain ?? "",
  inputs: n.input ?? [],
  outputs: n.output ?? [],
  attributes: (n.attribute ?? []).map((a) => attributeFromMsg(ctx, a, `${where} attribute "${a.name ?? ""}"`)),
  ...(n.doc_string ? { docString: n.doc_string } : {}),
})

const attributeFromMsg = (ctx: Context, a: AttributeMsg, where: string): Attribute => {
  const name = a.name ?? ""
  // IR < 2 files may omit `type`; infer it from the one field that is set.
  const type =
    a.type ||
    (a.f !== undefined ? OnnxAttributeType.FLOAT
      : a.i !== undefined ? OnnxAttributeType.INT
      : a.s !== undefined ? OnnxAttributeType.STRING
      : a.t ? OnnxAttributeType.TENSOR
      : a.g ? OnnxAttributeType.GRAPH
      : a.floats?.length ? OnnxAttributeType.FLOATS
      : a.ints?.length ? OnnxAttributeType.INTS
      : a.strings?.length ? OnnxAttributeType.STRINGS
      : a.tensors?.length ? OnnxAttributeType.TENSORS
      : a.graphs?.length ? OnnxAttributeType.GRAPHS
      : OnnxAttributeType.UNDEFINED)
  switch (type) {
    case OnnxAttributeType.FLOAT: return { name, type: "float", value: a.f ?? 0 }
    case OnnxAttributeType.INT: return { name, type: "int", value: int64Value(a.i ?? 0) }
    case OnnxAttributeType.STRING: return { name, type: "string", value: utf8.decode(a.s ?? new Uint8Array(0)) }
    case OnnxAttributeType.TENSOR:
      if (!a.t) throw new OnnxReadError(`${ctx.modelPath}: ${where} is a TENSOR attribute without a tensor`, ctx.modelPath)
      return { name, type: "tensor", value: tensorFromMsg(ctx, a.t, where) }
    case OnnxAttributeType.GRAPH:
      if (!a.g) throw new OnnxReadError(`${ctx.modelPath}: ${where} is a GRAPH attribute without a graph`, ctx.modelPath)
      return { name, type: "graph", value: graphFromMsg(ctx, a.g, where) }
    case OnnxAttributeType.FLOATS: return { name, type: "floats", value: a.floats ?? [] }
    case OnnxAttributeType.INTS: return { name, type: "ints", value: (a.ints ?? []).map(int64Value) }
    case OnnxAttributeType.STRINGS: return { name, type: "strings", value: (a.strings ?? []).map((s) => utf8.decode(s)) }
    case OnnxAttributeType.TENSORS: return { name, type: "tensors", value: (a.tensors ?? []).map((t) => tensorFromMsg(ctx, t, where)) }
    case OnnxAttributeType.GRAPHS: return { name, type: "graphs", value: (a.graphs ?? []).map((g) => graphFromMsg(ctx, g, where)) }
    default:
      throw new OnnxReadError(
        `${ctx.modelPath}: ${where} has attribute type ${type}, which kiln does not read (sparse tensors, type protos and attribute references are unsupported)`,
        ctx.modelPath,
      )
  }
}

/** Rejects external-data locations that are absolute or climb out of the model directory. */
export const resolveExternalLocation = (modelDir: string, location: string): string | undefined => {
  if (location === "" || location.includes("\0")) return undefined
  if (isAbsolute(location) || win32.isAbsolute(location)) return undefined
  if (location.split(/[\\/]/).some((part) => part === "..")) return undefined
  const path = resolve(modelDir, location)
  const rel = relative(modelDir, path)
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) return undefined
  // A symlink inside the directory must not lead out of it either. A file that does not exist
  // yet passes here; reading it later fails with its own error.
  let real: string
  try {
    real = realpathSync(path)
  } catch {
    return path
  }
  const realRel = relative(realpathSync(modelDir), real)
  if (realRel === "" || realRel.startsWith("..") || isAbsolute(realRel)) return undefined
  return path
}

const tensorFromMsg = (ctx: Context, t: TensorMsg, where: string): OnnxTensor => {
  const fail = (what: string) => new OnnxReadError(`${ctx.modelPath}: ${where}: ${what}`, ctx.modelPath)
  const dtype = elementTypeFromOnnx(t.data_type ?? 0)
  if (!dtype) throw fail(`unknown or missing data_type ${t.data_type ?? "(none)"}`)
  const dims = (t.dims ?? []).map((d) => {
    const n = int64Value(d)
    if (typeof n === "bigint" || n < 0) throw fail(`dims contain ${n}; expected non-negative sizes`)
    return n
  })
  const base = { name: t.name ?? "", dtype, dims, ...(t.doc_string ? { docString: t.doc_string } : {}) }
  if (t.data_location === OnnxDataLocation.EXTERNAL) {
    const data = externalDataFromMsg(ctx, t, fail)
    const tensor: OnnxTensor = { ...base, data }
    return ctx.loadExternalData ? { ...base, data: { kind: "bytes", bytes: readTensorBytes(tensor) } } : tensor
  }
  return { ...base, data: { kind: "bytes", bytes: inlineBytes(t, dtype, fail) } }
}

const externalDataFromMsg = (ctx: Context, t: TensorMsg, fail: (what: string) => OnnxReadError): TensorData => {
  const entries = new Map((t.external_data ?? []).map((e) => [e.key ?? "", e.value ?? ""]))
  const location = entries.get("location")
  if (location === undefined) throw fail(`data_location is EXTERNAL but external_data has no "location"`)
  const path = resolveExternalLocation(ctx.dir, location)
  if (path === undefined)
    throw fail(`external data location ${JSON.stringify(location)} is not a relative path inside the model directory; refusing to read it`)
  const number = (key: string): number | undefined => {
    const raw = entries.get(key)
    if (raw === undefined) return undefined
    const n = Number(raw)
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw fail(`external_data "${key}" = ${JSON.stringify(raw)} is not a non-negative integer`)
    return n
  }
  return { kind: "external", location, path, offset: number("offset") ?? 0, length: number("length") }
}

const viewBytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)

/** raw_data, or the typed repeated field ONNX uses for the dtype, as raw little-endian bytes. */
const inlineBytes = (t: TensorMsg, dtype: ElementType, fail: (what: string) => OnnxReadError): Uint8Array => {
  // A plain Uint8Array view, not the decoder's Buffer, whose slice() shares memory.
  if (t.raw_data && t.raw_data.byteLength > 0) return new Uint8Array(t.raw_data.buffer, t.raw_data.byteOffset, t.raw_data.byteLength)
  if (t.string_data?.length) throw fail("string tensors are not supported")
  const int32 = t.int32_data ?? []
  switch (dtype) {
    case "float32":
    case "complex64": return viewBytes(Float32Array.from(t.float_data ?? []))
    case "float64":
    case "complex128": return viewBytes(Float64Array.from(t.double_data ?? []))
    case "int64": return viewBytes(BigInt64Array.from((t.int64_data ?? []).map((v) => BigInt(v.toString()))))
    case "uint64": return viewBytes(BigUint64Array.from((t.uint64_data ?? []).map((v) => BigInt.asUintN(64, BigInt(v.toString())))))
    case "uint32": return viewBytes(Uint32Array.from((t.uint64_data ?? []).map((v) => Number(v.toString()))))
    case "int32": return viewBytes(Int32Array.from(int32))
    case "int16": return viewBytes(Int16Array.from(int32))
    case "int8": return viewBytes(Int8Array.from(int32))
    case "uint8":
    case "bool": return Uint8Array.from(int32)
    case "uint16":
    case "float16":
    case "bfloat16": return viewBytes(Uint16Array.from(int32))
    default:
      if (int32.length === 0) return new Uint8Array(0)
      throw fail(`${dtype} data in int32_data is not supported; store it in raw_data`)
  }
}
