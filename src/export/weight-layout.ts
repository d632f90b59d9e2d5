// Rearranges checkpoint weights into the layout ONNX ops want, inside initializer thunks so each
// weight is read only while it is written. PyTorch Linear stores [out, in]; MatMul wants [in, out].
//
// Speed and memory: touching freshly allocated memory is what an export of a 2 GB model spends
// its time on (page faults), so rearranged weights are built in one scratch buffer reused from
// tensor to tensor. That is safe because writeModel calls each thunk only when it writes that
// tensor and has written (or copied) the bytes before it calls the next one.
import type { LazyTensor } from "../tensor/index.ts"

/** One growable buffer that each thunk's result borrows until the next thunk runs. */
export class ScratchBuffer {
  private buffer = new ArrayBuffer(0)

  /** A zero-length-safe Float32Array of `elements`, valid until the next `take`. */
  take(elements: number): Float32Array {
    if (this.buffer.byteLength < elements * 4) this.buffer = new ArrayBuffer(elements * 4)
    return new Float32Array(this.buffer, 0, elements)
  }
}

/**
 * Writes the transpose of a row-major [rows, cols] matrix into columns [colOffset, colOffset+rows)
 * of a row-major [cols, outCols] matrix. Copies 32-bit patterns (bit-exact, NaN payloads kept),
 * walking 16×16 tiles so both sides stay in cache.
 */
const transposeInto = (source: Float32Array, rows: number, cols: number, target: Float32Array, outCols: number, colOffset: number): void => {
  const src = new Uint32Array(source.buffer, source.byteOffset, source.length)
  const dst = new Uint32Array(target.buffer, target.byteOffset, target.length)
  const tile = 16
  for (let c0 = 0; c0 < cols; c0 += tile) {
    const c1 = Math.min(c0 + tile, cols)
    for (let r0 = 0; r0 < rows; r0 += tile) {
      const r1 = Math.min(r0 + tile, rows)
      for (let c = c0; c < c1; c++) {
        let out = c * outCols + colOffset + r0
        let at = r0 * cols + c
        for (let r = r0; r < r1; r++) {
          dst[out++] = src[at]!
          at += cols
        }
      }
    }
  }
}

/** [out, in] → [in, out]. */
export const transposedLinear = (weight: LazyTensor, scratch: ScratchBuffer): (() => Float32Array) => () => {
  const [rows, cols] = weight.shape as [number, number]
  const source = weight.readFloat32()
  const out = scratch.take(rows * cols)
  transposeInto(source, rows, cols, out, rows, 0)
  return out
}

/**
 * Several Linear weights [out_i, in] side by side as one [in, Σ out_i] matrix: the packed
 * Q|K|V weight of com.microsoft:Attention.
 */
export const packedLinears = (weights: readonly LazyTensor[], scratch: ScratchBuffer): (() => Float32Array) => () => {
  const cols = weights[0]!.shape[1]!
  const outCols = weights.reduce((sum, w) => sum + w.shape[0]!, 0)
  const out = scratch.take(cols * outCols)
  let offset = 0
  for (const weight of weights) {
    const rows = weight.shape[0]!
    transposeInto(weight.readFloat32(), rows, cols, out, outCols, offset)
    offset += rows
  }
  return out
}

/** Vectors end to end: the packed Q|K|V bias. */
export const concatenated = (vectors: readonly LazyTensor[]): (() => Float32Array) => () => {
  const out = new Float32Array(vectors.reduce((sum, v) => sum + v.shape[0]!, 0))
  let offset = 0
  for (const vector of vectors) {
    out.set(vector.readFloat32(), offset)
    offset += vector.shape[0]!
  }
  return out
}

/** One row of a [rows, cols] table (XLM-R's single token-type embedding when there is no token_type_ids input). */
export const tableRow = (table: LazyTensor, row: number): (() => Float32Array) => () => {
  const cols = table.shape[1]!
  return table.readFloat32().slice(row * cols, (row + 1) * cols)
}

/** The tensor as stored (converted to float32). */
export const asIs = (tensor: LazyTensor): (() => Float32Array) => () => tensor.readFloat32()
