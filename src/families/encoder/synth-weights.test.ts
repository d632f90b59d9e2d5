// Proves the streamed embedding tables of synthetic checkpoints: normalTable's pieces (through one
// reused buffer, odd-sized so Box-Muller pairs straddle them) are exactly its whole values, with
// the padding row zeroed, and synthesizeWeights hands the writers its big tables in pieces.
import { describe, expect, test } from "bun:test"
import { normalTable } from "../../seeded/index.ts"
import { xlmRobertaVariant } from "../xlm-roberta/variant.ts"
import { encoderShape } from "./shapes.ts"
import { synthesizeWeights } from "./synth-weights.ts"

const concatenate = (pieces: Iterable<Float32Array>): { count: number; buffers: Set<ArrayBufferLike>; values: Float32Array } => {
  const copies: Float32Array[] = []
  const buffers = new Set<ArrayBufferLike>()
  for (const piece of pieces) {
    copies.push(piece.slice())
    buffers.add(piece.buffer)
  }
  const values = new Float32Array(copies.reduce((n, c) => n + c.length, 0))
  copies.reduce((offset, copy) => (values.set(copy, offset), offset + copy.length), 0)
  return { count: copies.length, buffers, values }
}

describe("normalTable", () => {
  for (const zeroRow of [undefined, 0, 4, 10]) {
    test(`pieces equal the whole table (zero row ${zeroRow})`, () => {
      const table = normalTable({ name: "t", dtype: "float32", seed: 7, rows: 11, cols: 5, std: 0.5, zeroRow, pieceElements: 15 })
      const whole = table.values()
      const pieces = concatenate(table.chunks!())
      expect(pieces.count).toBe(4) // 3 + 3 + 3 + 2 rows
      expect(pieces.buffers.size).toBe(1)
      expect(pieces.values).toEqual(whole)
      for (let row = 0; row < 11; row++) {
        const allZero = whole.subarray(row * 5, row * 5 + 5).every((v) => v === 0)
        expect({ row, allZero }).toEqual({ row, allZero: row === zeroRow })
      }
    })
  }

  test("the tables of a synthesized model stream, and the seed and name pick the values", () => {
    const weights = synthesizeWeights({ variant: xlmRobertaVariant.synth, shape: encoderShape(xlmRobertaVariant.synth, "tiny"), padTokenId: 1, layout: "base", outliers: false, seed: 3, dtype: "float32" })
    const word = weights.main.find((t) => t.name === "embeddings.word_embeddings.weight")!
    const position = weights.main.find((t) => t.name === "embeddings.position_embeddings.weight")!
    expect(word.chunks).toBeDefined()
    expect(position.chunks).toBeDefined()
    expect(concatenate(word.chunks!()).values).toEqual(word.values())
    const other = normalTable({ name: "embeddings.word_embeddings.weight", dtype: "float32", seed: 4, rows: word.shape[0]!, cols: word.shape[1]!, std: 0.05, zeroRow: 1 })
    expect(other.values()).not.toEqual(word.values())
  })
})
