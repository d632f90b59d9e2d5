// Rearranges checkpoint weights into the layout ONNX ops want, as generators of borrowed float32
// pieces that run only while the weight is written. PyTorch Linear stores [out, in]; MatMul wants [in, out].
//
// Speed and memory: touching freshly allocated memory is what an export of a 2 GB model used to
// spend its time on (page faults cost ~3 s/GB on this VM, more than reading and writing), so no
// weight ever gets a buffer of its own. Tensors kept as stored stream from the checkpoint in
// CHUNK_ELEMENTS pieces through one reused buffer; rearranged ones are read into one reused source
// buffer and rearranged into one reused output buffer. That is safe because the ONNX writer
// consumes each piece before it asks for the next, and writes one tensor at a time.
import { elementCount, type LazyTensor, readFloat32Range } from "../tensor/index.ts"

/** A weight's row-major float32 values in pieces, each valid until the next is requested. */
export type WeightValues = () => Iterable<Float32Array>

/** Elements per streamed piece: 16 MiB of float32, so a piece costs one write call and stays in reuse. */
export const CHUNK_ELEMENTS = 1 << 22

/** One growable buffer whose views are borrowed until the next `take*`. */
export class ScratchBuffer {
  private buffer = new ArrayBuffer(0)

  private grow(bytes: number): ArrayBuffer {
    if (this.buffer.byteLength < bytes) this.buffer = new ArrayBuffer(bytes)
    return this.buffer
  }

  /** A Float32Array of `elements` (zero-length safe), valid until the next take. */
  take(elements: number): Float32Array {
    return new Float32Array(this.grow(elements * 4), 0, elements)
  }

  /** A Uint16Array of `elements` (float16 bits), valid until the next take. */
  takeUint16(elements: number): Uint16Array {
    return new Uint16Array(this.grow(elements * 2), 0, elements)
  }
}

/** The two buffers weight producers borrow: what is read from the checkpoint, and what is handed out. */
export interface WeightScratch {
  readonly source: ScratchBuffer
  readonly output: ScratchBuffer
}

export const weightScratch = (): WeightScratch => ({ source: new ScratchBuffer(), output: new ScratchBuffer() })

/**
 * Writes the transpose of a row-major [rows, cols] matrix into columns [colOffset, colOffset+rows)
 * of a row-major [cols, outCols] matrix. Copies 32-bit patterns (bit-exact, NaN payloads kept),
 * walking 16×16 tiles so both sides stay in cache.
 */
export const transposeInto = (source: Float32Array, rows: number, cols: number, target: Float32Array, outCols: number, colOffset: number): void => {
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

/** The tensor as stored (converted to float32), in pieces of at most `chunkElements`. */
export const streamed =
  (tensor: LazyTensor, scratch: WeightScratch, chunkElements = CHUNK_ELEMENTS): WeightValues =>
  function* () {
    const count = elementCount(tensor.shape)
    for (let start = 0; start < count; start += chunkElements) {
      const piece = scratch.output.take(Math.min(chunkElements, count - start))
      readFloat32Range(tensor, piece, start)
      yield piece
    }
  }

/** [out, in] → [in, out]. */
export const transposedLinear = (weight: LazyTensor, scratch: WeightScratch): WeightValues =>
  function* () {
    const [rows, cols] = weight.shape as [number, number]
    const source = scratch.source.take(rows * cols)
    readFloat32Range(weight, source)
    const out = scratch.output.take(rows * cols)
    transposeInto(source, rows, cols, out, rows, 0)
    yield out
  }

/**
 * Several Linear weights [out_i, in] side by side as one [in, Σ out_i] matrix: the packed
 * Q|K|V weight of com.microsoft:Attention.
 */
export const packedLinears = (weights: readonly LazyTensor[], scratch: WeightScratch): WeightValues =>
  function* () {
    const cols = weights[0]!.shape[1]!
    const outCols = weights.reduce((sum, w) => sum + w.shape[0]!, 0)
    const out = scratch.output.take(cols * outCols)
    let offset = 0
    for (const weight of weights) {
      const rows = weight.shape[0]!
      const source = scratch.source.take(rows * cols)
      readFloat32Range(weight, source)
      transposeInto(source, rows, cols, out, outCols, offset)
      offset += rows
    }
    yield out
  }

/** Vectors end to end: the packed Q|K|V bias. */
export const concatenated = (vectors: readonly LazyTensor[], scratch: WeightScratch): WeightValues =>
  function* () {
    const out = scratch.output.take(vectors.reduce((sum, v) => sum + v.shape[0]!, 0))
    let offset = 0
    for (const vector of vectors) {
      const length = vector.shape[0]!
      readFloat32Range(vector, out.subarray(offset, offset + length))
      offset += length
    }
    yield out
  }

/** One row of a [rows, cols] table (XLM-R's single token-type embedding when there is no token_type_ids input). */
export const tableRow = (table: LazyTensor, row: number, scratch: WeightScratch): WeightValues =>
  function* () {
    const cols = table.shape[1]!
    const out = scratch.output.take(cols)
    readFloat32Range(table, out, row * cols)
    yield out
  }
