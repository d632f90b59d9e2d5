// Tensors as the libraries exchange them: a dtype, a shape and the raw little-endian bytes or
// a typed array. Checkpoint readers hand out lazy tensors so an exporter can stream a 2 GB model
// one weight at a time instead of holding it all.

/** Element types kiln reads from checkpoints and writes to ONNX. */
export type DType = "float32" | "float16" | "bfloat16" | "float64" | "int64" | "int32" | "int16" | "int8" | "uint8" | "bool"

export const bytesPerElement: Record<DType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
}

/** A dense float tensor in memory, row-major. */
export interface FloatTensor {
  readonly shape: readonly number[]
  readonly data: Float32Array
}

/** A tensor in a checkpoint, read on demand. `dtype` is the stored type. */
export interface LazyTensor {
  readonly name: string
  readonly dtype: DType
  readonly shape: readonly number[]
  /** Decodes (and converts F16/BF16) to a fresh row-major Float32Array. */
  readFloat32(): Float32Array
}

export const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1)
