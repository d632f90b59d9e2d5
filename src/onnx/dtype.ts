// ONNX element types: kiln's DType plus the extra ONNX types a foreign model may carry, their
// TensorProto.DataType codes and their storage sizes.
import type { DType } from "../tensor/index.ts"
import { OnnxDataType } from "./schema.ts"

export type ElementType =
  | DType
  | "uint16"
  | "uint32"
  | "uint64"
  | "string"
  | "complex64"
  | "complex128"
  | "float8e4m3fn"
  | "float8e4m3fnuz"
  | "float8e5m2"
  | "float8e5m2fnuz"
  | "uint4"
  | "int4"
  | "float4e2m1"

/** Bits per element in raw_data; `undefined` for strings (no fixed size). */
const ELEMENT_TYPES: Record<ElementType, { code: number; bits: number | undefined }> = {
  float32: { code: OnnxDataType.FLOAT, bits: 32 },
  uint8: { code: OnnxDataType.UINT8, bits: 8 },
  int8: { code: OnnxDataType.INT8, bits: 8 },
  uint16: { code: OnnxDataType.UINT16, bits: 16 },
  int16: { code: OnnxDataType.INT16, bits: 16 },
  int32: { code: OnnxDataType.INT32, bits: 32 },
  int64: { code: OnnxDataType.INT64, bits: 64 },
  string: { code: OnnxDataType.STRING, bits: undefined },
  bool: { code: OnnxDataType.BOOL, bits: 8 },
  float16: { code: OnnxDataType.FLOAT16, bits: 16 },
  float64: { code: OnnxDataType.DOUBLE, bits: 64 },
  uint32: { code: OnnxDataType.UINT32, bits: 32 },
  uint64: { code: OnnxDataType.UINT64, bits: 64 },
  complex64: { code: OnnxDataType.COMPLEX64, bits: 64 },
  complex128: { code: OnnxDataType.COMPLEX128, bits: 128 },
  bfloat16: { code: OnnxDataType.BFLOAT16, bits: 16 },
  float8e4m3fn: { code: OnnxDataType.FLOAT8E4M3FN, bits: 8 },
  float8e4m3fnuz: { code: OnnxDataType.FLOAT8E4M3FNUZ, bits: 8 },
  float8e5m2: { code: OnnxDataType.FLOAT8E5M2, bits: 8 },
  float8e5m2fnuz: { code: OnnxDataType.FLOAT8E5M2FNUZ, bits: 8 },
  uint4: { code: OnnxDataType.UINT4, bits: 4 },
  int4: { code: OnnxDataType.INT4, bits: 4 },
  float4e2m1: { code: OnnxDataType.FLOAT4E2M1, bits: 4 },
}

const BY_CODE = new Map<number, ElementType>(
  (Object.entries(ELEMENT_TYPES) as [ElementType, { code: number }][]).map(([t, v]) => [v.code, t]),
)

export const isElementType = (value: unknown): value is ElementType =>
  typeof value === "string" && Object.hasOwn(ELEMENT_TYPES, value)

export const onnxDataTypeOf = (type: ElementType): number => ELEMENT_TYPES[type].code

/** The element type for a TensorProto.DataType code, or undefined for UNDEFINED/unknown codes. */
export const elementTypeFromOnnx = (code: number): ElementType | undefined => BY_CODE.get(code)

/**
 * Bytes a tensor of this type and shape occupies in raw_data (sub-byte types are packed two to
 * a byte, rounded up). Undefined for strings, which have no raw layout.
 */
export const rawByteLength = (type: ElementType, dims: readonly number[]): number | undefined => {
  const bits = ELEMENT_TYPES[type].bits
  if (bits === undefined) return undefined
  let count = 1
  for (const d of dims) count *= d
  return Math.ceil((count * bits) / 8)
}
