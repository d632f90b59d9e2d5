// Node attributes from plain JS values: the type is inferred (integer → int, other number → float,
// string, lists, tensors) and the `attr.*` helpers state it explicitly where inference would guess wrong.
import type { ElementType } from "./dtype.ts"
import { OnnxBuildError } from "./errors.ts"
import type { Attribute, AttributeValue, OnnxGraph, OnnxTensor } from "./model.ts"
import { type TensorInput, toTensorData } from "./tensor-data.ts"

/** What `attrs` accepts: a plain value whose ONNX type is inferred, or an explicit `attr.*` value. */
export type AttrInput =
  | number
  | bigint
  | boolean
  | string
  | readonly number[]
  | readonly bigint[]
  | readonly string[]
  | OnnxTensor
  | AttributeValue

/** Explicit attribute types, for when inference would pick the wrong one (e.g. `alpha: attr.float(1)`). */
export const attr = {
  float: (value: number): AttributeValue => ({ type: "float", value }),
  int: (value: number | bigint): AttributeValue => ({ type: "int", value }),
  string: (value: string): AttributeValue => ({ type: "string", value }),
  floats: (value: readonly number[]): AttributeValue => ({ type: "floats", value: [...value] }),
  ints: (value: readonly (number | bigint)[]): AttributeValue => ({ type: "ints", value: [...value] }),
  strings: (value: readonly string[]): AttributeValue => ({ type: "strings", value: [...value] }),
  tensor: (value: OnnxTensor): AttributeValue => ({ type: "tensor", value }),
  graph: (value: OnnxGraph): AttributeValue => ({ type: "graph", value }),
} as const

/** An in-memory tensor value, e.g. for a Constant node's `value` attribute. */
export const tensor = (dtype: ElementType, dims: readonly number[], data: TensorInput, name = ""): OnnxTensor => ({
  name,
  dtype,
  dims: [...dims],
  data: toTensorData(name || "(attribute tensor)", dtype, dims, data),
})

const ATTRIBUTE_TYPES = new Set(["float", "int", "string", "tensor", "graph", "floats", "ints", "strings", "tensors", "graphs"])

const isTensor = (v: object): v is OnnxTensor => "dtype" in v && "dims" in v && "data" in v
const isTyped = (v: object): v is AttributeValue =>
  "type" in v && "value" in v && typeof v.type === "string" && ATTRIBUTE_TYPES.has(v.type)

/** Resolves one attribute of `where` (e.g. `node "Gelu_0" (Gelu)`) to its typed form. */
export const toAttribute = (where: string, name: string, input: AttrInput): Attribute => {
  const fail = (what: string) => new OnnxBuildError(`${where}: attribute "${name}" ${what}`)
  const intCheck = (v: number) => {
    if (!Number.isSafeInteger(v)) throw fail(`value ${v} is not a safe integer; pass a bigint via attr.int`)
    return v
  }
  if (typeof input === "number") return Number.isInteger(input) ? { name, type: "int", value: intCheck(input) } : { name, type: "float", value: input }
  if (typeof input === "bigint") return { name, type: "int", value: input }
  if (typeof input === "boolean") return { name, type: "int", value: input ? 1 : 0 }
  if (typeof input === "string") return { name, type: "string", value: input }
  if (Array.isArray(input)) {
    const list = input as readonly unknown[]
    if (list.length === 0) throw fail("is an empty list, whose type cannot be inferred; use attr.ints([]), attr.floats([]) or attr.strings([])")
    if (list.every((v) => typeof v === "string")) return { name, type: "strings", value: [...(list as string[])] }
    if (list.every((v) => typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v))))
      return { name, type: "ints", value: (list as (number | bigint)[]).map((v) => (typeof v === "number" ? intCheck(v) : v)) }
    if (list.every((v) => typeof v === "number"))
      return { name, type: "floats", value: [...(list as number[])] }
    throw fail("mixes element types; expected all numbers, all bigints or all strings")
  }
  if (typeof input === "object" && input !== null) {
    if (isTyped(input)) {
      if (input.type === "int" && typeof input.value === "number") intCheck(input.value)
      return { name, ...input } as Attribute
    }
    if (isTensor(input)) return { name, type: "tensor", value: input }
  }
  throw fail(`has a value of unsupported kind (${typeof input}); expected a number, string, list, tensor or attr.*(...)`)
}
