// Reranker: scores come back in the caller's order whatever the batching, sigmoid maps logits,
// and bad input is a clear error.
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { writeBundle } from "./bundle.ts"
import { Reranker } from "./reranker.ts"
import { fixtureTexts, writeEncoderFixture } from "./testing/encoder-fixture.ts"

const root = await mkdtemp(join(tmpdir(), "kiln-runtime-reranker-"))
afterAll(() => rm(root, { recursive: true, force: true }))

const model = await writeEncoderFixture(join(root, "model"), { task: "reranker" })
const bundle = (await writeBundle(model.dir, join(root, "bundle"))).dir
const sentences = fixtureTexts(18, 11)
const pairs = sentences.map((passage, i) => [sentences[(i * 7) % sentences.length]!.split(" ").slice(0, 4).join(" "), passage] as const)

describe("Reranker", () => {
  test("batched scores equal one-by-one scores, in the caller's order; sigmoid maps them", async () => {
    const reranker = await Reranker.load(bundle, { threads: 1 })
    try {
      const scores = await reranker.score(pairs, { batchSize: 4 })
      expect(scores).toHaveLength(pairs.length)
      for (let i = 0; i < pairs.length; i++) expect(Math.abs(scores[i]! - (await reranker.score([pairs[i]!]))[0]!)).toBeLessThan(1e-5)
      expect(new Set(scores.map((s) => s.toFixed(4))).size).toBeGreaterThan(pairs.length / 2)
      const probabilities = await reranker.score(pairs, { batchSize: 7, sigmoid: true })
      probabilities.forEach((p, i) => expect(Math.abs(p - 1 / (1 + Math.exp(-scores[i]!)))).toBeLessThan(1e-6))
    } finally {
      await reranker.close()
    }
  }, 15_000)

  test("scoreTokens on the tokenizer's pair rows gives what score gives", async () => {
    const reranker = await Reranker.load(bundle, { threads: 1 })
    try {
      const scores = await reranker.score(pairs, { batchSize: 5 })
      const fromTokens = await reranker.scoreTokens(reranker.bundle.tokenizer.encodePairs(pairs), { batchSize: 5 })
      fromTokens.forEach((s, i) => expect(Math.abs(s - scores[i]!)).toBeLessThan(1e-6))
    } finally {
      await reranker.close()
    }
  })

  test("an empty list is a clear error", async () => {
    const reranker = await Reranker.load(bundle, { threads: 1 })
    try {
      await expect(reranker.score([])).rejects.toThrow("expected a non-empty array of [query, passage] pairs")
    } finally {
      await reranker.close()
    }
  })
})
