// Tensors as the libraries exchange them: a dtype, a shape and the raw little-endian bytes or
// a typed array. Checkpoint readers hand out lazy tensors so an exporter can stream a 2 GB model
// one weight at a time instead of holding it all.

export {
  bfloat16BitsToFloat32,
  bfloat16ToFloat32,
  float16BitsToFloat32,
  float16BitsToFloat32Bits,
  float16ToFloat32,
  float32BitsToBfloat16Bits,
  float32BitsToFloat16Bits,
  float32ToBfloat16,
  float32ToBfloat16Bits,
  float32ToFloat16,
  float32ToFloat16Bits,
} from "./float16.ts"

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
  /**
   * Optional streaming read: fills `target` with the row-major elements
   * [start, start + target.length) (start defaults to 0), converted to float32, without a
   * tensor-sized allocation; float32 storage goes straight from the file into target's bytes.
   * Writing into a reused buffer matters because touching fresh memory is what big reads cost.
   * Call it through `readFloat32Range`, which falls back to `readFloat32` when it is absent.
   */
  readFloat32Into?(target: Float32Array, start?: number): void
}

export const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1)

/** Raised when a range read asks for elements the tensor does not have. */
export class TensorRangeError extends RangeError {
  override readonly name = "TensorRangeError"
  constructor(tensor: string, count: number, start: number, length: number) {
    super(`tensor "${tensor}": elements [${start}, ${start + length}) are outside its ${count} elements (start must be a non-negative integer)`)
  }
}

/** Throws TensorRangeError unless [start, start + length) lies inside the tensor's elements. */
export const checkElementRange = (tensor: LazyTensor, start: number, length: number): void => {
  const count = elementCount(tensor.shape)
  if (!Number.isSafeInteger(start) || start < 0 || start + length > count) throw new TensorRangeError(tensor.name, count, start, length)
}

/**
 * Fills `target` with elements [start, start + target.length) of `tensor`: through
 * `readFloat32Into` when the tensor has it, else by reading the whole tensor and copying.
 */
export const readFloat32Range = (tensor: LazyTensor, target: Float32Array, start = 0): void => {
  checkElementRange(tensor, start, target.length)
  if (tensor.readFloat32Into !== undefined) {
    tensor.readFloat32Into(target, start)
    return
  }
  target.set(tensor.readFloat32().subarray(start, start + target.length))
}
