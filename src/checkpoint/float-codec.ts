// Conversions between float32 and the stored element types (float16, bfloat16, ints …) as raw
// checkpoint bytes: decode any checkpoint dtype to float32, encode float32 to float16/bfloat16.
// The 16-bit float rounding itself is the shared one in src/tensor/float16.ts.
import { bfloat16ToFloat32, type DType, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from "../tensor/index.ts"

/** Encodes `values` as `dtype` little-endian bytes (float32 is a view, not a copy). */
export const encodeFloat32As = (values: Float32Array, dtype: "float32" | "float16" | "bfloat16"): Uint8Array => {
  if (dtype === "float32") return new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
  const out = dtype === "float16" ? float32ToFloat16(values) : float32ToBfloat16(values)
  return new Uint8Array(out.buffer)
}

/** Encodes `values` in blocks of at most `blockElements`, so a 16-bit copy never exists whole. */
export function* encodeFloat32Blocks(
  values: Float32Array,
  dtype: "float32" | "float16" | "bfloat16",
  blockElements = 1 << 20,
): Generator<Uint8Array> {
  if (dtype === "float32") {
    yield encodeFloat32As(values, dtype)
    return
  }
  for (let start = 0; start < values.length; start += blockElements) {
    yield encodeFloat32As(values.subarray(start, Math.min(values.length, start + blockElements)), dtype)
  }
}

/**
 * Decodes `count` elements of `dtype` from `buffer` (which must start at a multiple of the
 * element size, e.g. a fresh ArrayBuffer) to float32. float32 input is returned without a copy.
 */
export const decodeToFloat32 = (buffer: ArrayBuffer, dtype: DType, count: number): Float32Array => {
  switch (dtype) {
    case "float32":
      return new Float32Array(buffer, 0, count)
    case "float16":
      return float16ToFloat32(new Uint16Array(buffer, 0, count))
    case "bfloat16":
      return bfloat16ToFloat32(new Uint16Array(buffer, 0, count))
    case "float64":
      return Float32Array.from(new Float64Array(buffer, 0, count))
    case "int64": {
      const source = new BigInt64Array(buffer, 0, count)
      const out = new Float32Array(count)
      for (let i = 0; i < count; i++) out[i] = Number(source[i]!)
      return out
    }
    case "int32":
      return Float32Array.from(new Int32Array(buffer, 0, count))
    case "int16":
      return Float32Array.from(new Int16Array(buffer, 0, count))
    case "int8":
      return Float32Array.from(new Int8Array(buffer, 0, count))
    case "uint8":
    case "bool":
      return Float32Array.from(new Uint8Array(buffer, 0, count))
  }
}

/**
 * Decodes `count` elements of `dtype` from the start of `buffer` into `target` (at element 0),
 * like `decodeToFloat32` but without allocating: the streaming readers decode block by block
 * into the caller's buffer.
 */
export const decodeIntoFloat32 = (buffer: ArrayBuffer, dtype: DType, count: number, target: Float32Array): void => {
  switch (dtype) {
    case "float32":
      target.set(new Float32Array(buffer, 0, count))
      return
    case "float16":
      float16ToFloat32(new Uint16Array(buffer, 0, count), target.subarray(0, count))
      return
    case "bfloat16":
      bfloat16ToFloat32(new Uint16Array(buffer, 0, count), target.subarray(0, count))
      return
    case "float64":
      target.set(new Float64Array(buffer, 0, count))
      return
    case "int64": {
      const source = new BigInt64Array(buffer, 0, count)
      for (let i = 0; i < count; i++) target[i] = Number(source[i]!)
      return
    }
    case "int32":
      target.set(new Int32Array(buffer, 0, count))
      return
    case "int16":
      target.set(new Int16Array(buffer, 0, count))
      return
    case "int8":
      target.set(new Int8Array(buffer, 0, count))
      return
    case "uint8":
    case "bool":
      target.set(new Uint8Array(buffer, 0, count))
      return
  }
}
