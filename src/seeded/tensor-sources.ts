// Seeded weight tensors as lazily evaluated TensorSources: every tensor draws from its own random
// stream (seed + name), so any one can be generated alone, in any order, with the same values.

import type { TensorSource, WritableDType } from "../checkpoint/index.ts"
import { SeededRandom } from "./random.ts"

/** A tensor filled by `fill` from the stream of (seed, name), generated whole when written. */
export const seededTensor = (
  name: string,
  dtype: WritableDType,
  seed: number,
  shape: readonly number[],
  fill: (random: SeededRandom, out: Float32Array) => void,
): TensorSource => ({
  name,
  dtype,
  shape,
  values: () => {
    const out = new Float32Array(shape.reduce((a, b) => a * b, 1))
    fill(new SeededRandom(seed, name), out)
    return out
  },
})

/** Elements per generated piece of an embedding table (4 MiB of float32). */
const TABLE_PIECE_ELEMENTS = 1 << 20

export interface NormalTableOptions {
  /** Names the tensor and its random stream. */
  readonly name: string
  readonly dtype: WritableDType
  readonly seed: number
  readonly rows: number
  readonly cols: number
  readonly std: number
  /** A row left at zero (XLM-R's padding row), if any. */
  readonly zeroRow?: number | undefined
  readonly pieceElements?: number
}

/**
 * A [rows, cols] table of normal(0, std) values, whole through `values` or a block of rows at a
 * time through `chunks` (one reused buffer: bge-m3's 1 GB word table is never whole in memory).
 * Both give the same numbers because one random stream fills the rows in order either way.
 */
export const normalTable = (options: NormalTableOptions): TensorSource => {
  const { name, seed, rows, cols, std, zeroRow } = options
  const zero = (block: Float32Array, firstRow: number) => {
    if (zeroRow !== undefined && zeroRow >= firstRow && zeroRow < firstRow + block.length / cols) block.fill(0, (zeroRow - firstRow) * cols, (zeroRow - firstRow + 1) * cols)
  }
  return {
    name,
    dtype: options.dtype,
    shape: [rows, cols],
    values: () => {
      const out = new SeededRandom(seed, name).fillNormal(new Float32Array(rows * cols), 0, std)
      zero(out, 0)
      return out
    },
    chunks: function* () {
      const random = new SeededRandom(seed, name)
      const rowsPerPiece = Math.max(1, Math.floor((options.pieceElements ?? TABLE_PIECE_ELEMENTS) / Math.max(1, cols)))
      const buffer = new Float32Array(Math.min(rows, rowsPerPiece) * cols)
      for (let firstRow = 0; firstRow < rows; firstRow += rowsPerPiece) {
        const piece = buffer.subarray(0, Math.min(rowsPerPiece, rows - firstRow) * cols)
        random.fillNormal(piece, 0, std)
        zero(piece, firstRow)
        yield piece
      }
    },
  }
}

