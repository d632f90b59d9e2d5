// Streaming reads of a contiguous stored tensor into a caller's Float32Array: float32 goes straight
// from the file into the target's bytes; other dtypes pass through one small block buffer and are
// decoded in place. Nothing tensor-sized is allocated, which is what makes a 1 GB table cheap.
import { bytesPerElement, type DType, elementCount, type LazyTensor } from "../tensor/index.ts"
import { CheckpointError } from "./errors.ts"
import { decodeIntoFloat32 } from "./float-codec.ts"

/** Elements decoded per block for non-float32 storage (512 KiB of int64/float64 at most). */
const BLOCK_ELEMENTS = 1 << 16
let block: ArrayBuffer | undefined

/** A clear error unless [start, start + length) are elements of `tensor`. */
export const checkRange = (file: string, tensor: LazyTensor, start: number, length: number): void => {
  const count = elementCount(tensor.shape)
  if (!Number.isSafeInteger(start) || start < 0 || start + length > count)
    throw new CheckpointError("InvalidInput", file, `cannot read elements [${start}, ${start + length}): the tensor has ${count} (start must be a non-negative integer)`, {
      tensor: tensor.name,
    })
}

/**
 * Fills `target` with elements [start, start + target.length) of a row-major span of `dtype`
 * elements; `readBytes(byteOffset, into)` fills `into` from that byte offset of the span.
 * The caller has checked the range.
 */
export const readElementsInto = (
  readBytes: (byteOffset: number, into: Uint8Array) => void,
  dtype: DType,
  start: number,
  target: Float32Array,
): void => {
  const size = bytesPerElement[dtype]
  if (dtype === "float32") {
    readBytes(start * size, new Uint8Array(target.buffer, target.byteOffset, target.byteLength))
    return
  }
  // A module-level block is safe: reads are synchronous and never nest.
  block ??= new ArrayBuffer(BLOCK_ELEMENTS * 8)
  for (let done = 0; done < target.length; done += BLOCK_ELEMENTS) {
    const count = Math.min(BLOCK_ELEMENTS, target.length - done)
    readBytes((start + done) * size, new Uint8Array(block, 0, count * size))
    decodeIntoFloat32(block, dtype, count, target.subarray(done, done + count))
  }
}
