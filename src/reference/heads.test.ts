// Proves the pooling and bge-m3 helpers on hand-made hidden states.

import { expect, test } from "bun:test"
import { clsEmbedding, lexicalWeights, meanEmbedding } from "./heads.ts"
import { matrix } from "./math.ts"

const hidden = matrix(3, 2, Float64Array.of(3, 4, 1, 1, 100, -100))

test("CLS pooling takes the first token and L2-normalises it", () => {
  expect([...clsEmbedding(hidden)]).toEqual([0.6, 0.8])
})

test("mean pooling ignores masked tokens", () => {
  // (3,4) and (1,1) average to (2, 2.5); the masked (100, −100) must not count.
  const mean = meanEmbedding(hidden, [1, 1, 0])
  const norm = Math.hypot(2, 2.5)
  expect(mean[0]).toBeCloseTo(2 / norm, 15)
  expect(mean[1]).toBeCloseTo(2.5 / norm, 15)
})

test("lexical weights keep each token id's largest positive weight and drop special ids", () => {
  // <s> a b a </s> <pad> with ids 0 7 8 7 2 1
  const weights = lexicalWeights([0, 7, 8, 7, 2, 1], [0.9, 0.2, 0, 0.5, 0.8, 0.7], new Set([0, 1, 2, 3]))
  expect([...weights.entries()]).toEqual([[7, 0.5]])
})
