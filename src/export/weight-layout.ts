// Rearranges checkpoint weights into the layout ONNX ops want, inside initializer thunks so each
// weight is read only while it is written. PyTorch Linear stores [out, in]; MatMul wants [in, out].
import type { LazyTensor } from "../tensor/index.ts"

/** Cache-friendly transpose of a row-major [rows, cols] matrix into `out` at column offset `colOffset` of a [cols, outCols] matrix. */
const transposeInto = (src: Float32Array, rows: number, cols: number, out: Float32Array, outCols: number, colOffset: number): void => {
  const block = 64
  for (let r0 = 0; r0 < rows; r0 += block) {
    const r1 = Math.min(r0 + block, rows)
    for (let c0 = 0; c0 < cols; c0 += block) {
      const c1 = Math.min(c0 + block, cols)
      for (let r = r0; r < r1; r++) {
        const rowBase = r * cols
        const outCol = colOffset + r
        for (let c = c0; c < c1; c++) out[c * outCols + outCol] = src[rowBase + c]!
      }
    }
  }
}

/** [out, in] → [in, out]. */
export const transposedLinear = (weight: LazyTensor): (() => Float32Array) => () => {
  const [rows, cols] = weight.shape as [number, number]
  const out = new Float32Array(rows * cols)
  transposeInto(weight.readFloat32(), rows, cols, out, rows, 0)
  return out
}

/**
 * Several Linear weights [out_i, in] side by side as one [in, Σ out_i] matrix: the packed
 * Q|K|V weight of com.microsoft:Attention.
 */
export const packedLinears = (weights: readonly LazyTensor[]): (() => Float32Array) => () => {
  const cols = weights[0]!.shape[1]!
  const outCols = weights.reduce((sum, w) => sum + w.shape[0]!, 0)
  const out = new Float32Array(cols * outCols)
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
