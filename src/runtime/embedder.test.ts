// Embedder: batching by length restores the caller's order, static, fixed-batch, int32 and
// dynamic bundles agree, pooling in JS matches the graph's, bge-m3 sparse and colbert outputs,
// and query instructions.
import { afterAll, describe, expect, test } from "bun:test"
import { readFileSync, writeFileSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { FloatTensor } from "../tensor/index.ts"
import { writeBundle } from "./bundle.ts"
import { Embedder } from "./embedder.ts"
import { RuntimeError } from "./errors.ts"
import { fixtureTexts, writeEncoderFixture, type EncoderFixtureOptions } from "./testing/encoder-fixture.ts"

const root = await mkdtemp(join(tmpdir(), "kiln-runtime-embedder-"))
afterAll(() => rm(root, { recursive: true, force: true }))

const bundleFor = async (name: string, options: EncoderFixtureOptions): Promise<string> => {
  const model = await writeEncoderFixture(join(root, `${name}-model`), options)
  return (await writeBundle(model.dir, join(root, name))).dir
}

const withEmbedder = async <T>(dir: string, use: (embedder: Embedder) => Promise<T>): Promise<T> => {
  const embedder = await Embedder.load(dir, { threads: 1 })
  try {
    return await use(embedder)
  } finally {
    await embedder.close()
  }
}

const row = (t: FloatTensor, i: number): Float32Array => t.data.subarray(i * (t.shape[1] as number), (i + 1) * (t.shape[1] as number))
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)))
  return m
}

// Lengths from 3 to ~60 tokens, long ones interleaved with short ones.
const texts = fixtureTexts(23)
const dynamic = await bundleFor("dynamic", { task: "embedding" })

describe("batching", () => {
  test("sorting by length and padding per batch gives each text the embedding it gets alone", async () => {
    await withEmbedder(dynamic, async (embedder) => {
      const lengths = embedder.bundle.tokenizer.tokenLengths(texts)
      expect(Math.max(...lengths) - Math.min(...lengths)).toBeGreaterThan(30)
      const batched = await embedder.embed(texts, { batchSize: 4 })
      expect(batched.dense.shape).toEqual([texts.length, 16])
      for (let i = 0; i < texts.length; i++) {
        const alone = await embedder.embed([texts[i]!])
        expect(maxAbsDiff(row(batched.dense, i), alone.dense.data)).toBeLessThan(1e-5)
      }
      // Rows are distinct, so a permutation could not pass the comparison above by accident.
      expect(maxAbsDiff(row(batched.dense, 0), row(batched.dense, 1))).toBeGreaterThan(1e-2)
    })
  }, 15_000)

  test("the batch size does not change the result", async () => {
    await withEmbedder(dynamic, async (embedder) => {
      const [a, b] = [await embedder.embed(texts, { batchSize: 1 }), await embedder.embed(texts, { batchSize: 64 })]
      expect(maxAbsDiff(a.dense.data, b.dense.data)).toBeLessThan(1e-5)
    })
  })

  test("an aborted embed starts no batch after the abort", async () => {
    await withEmbedder(dynamic, async (embedder) => {
      const controller = new AbortController()
      // Count the batches the session pool runs; abort once the third has returned.
      const pool = embedder.bundle.pool as { run: typeof embedder.bundle.pool.run }
      const run = pool.run.bind(pool)
      let runs = 0
      pool.run = async (request) => {
        const result = await run(request)
        if (++runs === 3) controller.abort()
        return result
      }
      const error = await embedder.embed(texts, { batchSize: 1, signal: controller.signal }).then(() => undefined, (e: unknown) => e)
      expect((error as Error).name).toBe("AbortError")
      expect(texts.length).toBeGreaterThan(10)
      expect(runs).toBe(3)
    })
  })

  test("an empty input or a bad batch size is a clear error", async () => {
    await withEmbedder(dynamic, async (embedder) => {
      await expect(embedder.embed([])).rejects.toThrow("expected a non-empty array of texts")
      await expect(embedder.embed(texts, { batchSize: 0 })).rejects.toBeInstanceOf(RuntimeError)
    })
  })
})

describe("pre-tokenized rows", () => {
  test("embedTokens on the tokenizer's rows gives what embed gives for the texts", async () => {
    await withEmbedder(dynamic, async (embedder) => {
      const fromTexts = await embedder.embed(texts, { batchSize: 4 })
      const fromTokens = await embedder.embedTokens(embedder.bundle.tokenizer.encode(texts), { batchSize: 4 })
      expect(maxAbsDiff(fromTokens.dense.data, fromTexts.dense.data)).toBeLessThan(1e-6)
      await expect(embedder.embedTokens(embedder.bundle.tokenizer.encode(texts.slice(0, 1)), { batchSize: 0 })).rejects.toBeInstanceOf(RuntimeError)
    })
  })
})

describe("bundle shapes agree", () => {
  test("static (padding to seqlen), fixed batch 1, int32 inputs and dynamic bundles give the same embeddings", async () => {
    const reference = await withEmbedder(dynamic, (e) => e.embed(texts, { batchSize: 5 }))
    const variants = {
      static: await bundleFor("static", { task: "embedding", seqlen: 64 }),
      "static batch 1": await bundleFor("static-b1", { task: "embedding", seqlen: 64, batch: 1 }),
      int32: await bundleFor("int32", { task: "embedding", inputDType: "int32" }),
    }
    for (const [name, dir] of Object.entries(variants)) {
      const result = await withEmbedder(dir, (e) => e.embed(texts, { batchSize: 5 }))
      expect({ name, diff: maxAbsDiff(result.dense.data, reference.dense.data) < 1e-5 }).toEqual({ name, diff: true })
    }
    expect(JSON.parse(readFileSync(join(variants.static, "runtime.json"), "utf8")).seqlen).toBe(64)
  }, 15_000)

  test("without a pooled output the runtime pools CLS and normalises like the graph does", async () => {
    const dir = await bundleFor("tokens-only", { task: "embedding" })
    const path = join(dir, "runtime.json")
    const config = JSON.parse(readFileSync(path, "utf8"))
    config.io.outputs = { tokens: "last_hidden_state" }
    config.pooledInGraph = false
    config.normalizedInGraph = false
    writeFileSync(path, JSON.stringify(config))
    const reference = await withEmbedder(dynamic, (e) => e.embed(texts))
    const pooled = await withEmbedder(dir, (e) => e.embed(texts))
    expect(maxAbsDiff(pooled.dense.data, reference.dense.data)).toBeLessThan(1e-5)
  })
})

describe("bge-m3 outputs", () => {
  test("sparse weights are the max per token id without specials; colbert has len-1 rows; both survive batching", async () => {
    const dir = await bundleFor("m3", { task: "m3" })
    await withEmbedder(dir, async (embedder) => {
      const result = await embedder.embed(texts, { batchSize: 4 })
      const tokens = embedder.bundle.tokenizer.encode(texts)
      const seq = tokens.dims[1]
      const specials = new Set([0, 100, 101, 102]) // [PAD] [UNK] [CLS] [SEP] of the synthetic WordPiece tokenizer
      for (let i = 0; i < texts.length; i++) {
        const alone = await embedder.embed([texts[i]!])
        const sparse = result.sparse![i]!
        expect([...sparse.entries()].sort()).toEqual([...alone.sparse![0]!.entries()].sort())
        const ids = new Set(Array.from(tokens.inputIds.subarray(i * seq, i * seq + (tokens.lengths[i] as number))))
        for (const [id, weight] of sparse) {
          expect(specials.has(id)).toBe(false)
          expect(ids.has(id)).toBe(true)
          expect(weight).toBeGreaterThan(0)
        }
        expect(result.colbert![i]!.length).toBe(((tokens.lengths[i] as number) - 1) * 16)
        expect(maxAbsDiff(result.colbert![i]!, alone.colbert![0]!)).toBeLessThan(1e-5)
      }
      // Against the raw sparse_vecs of a text repeating words: one weight per id, the maximum.
      const text = "fox dog fox the dog fox lazy fox"
      const single = embedder.bundle.tokenizer.encode([text])
      const raw = (await embedder.bundle.pool.run(embedder.bundle.request(single, ["sparse_vecs"]))).outputs.sparse_vecs!.data
      const expected = new Map<number, number>()
      single.inputIds.forEach((id, t) => {
        if (!specials.has(id) && raw[t]! > 0) expected.set(id, Math.max(expected.get(id) ?? 0, raw[t]!))
      })
      expect(single.inputIds.length - new Set(single.inputIds).size).toBeGreaterThan(2)
      expect([...(await embedder.embed([text])).sparse![0]!.entries()].sort()).toEqual([...expected.entries()].sort())
      const noExtras = await embedder.embed(texts.slice(0, 2), { sparse: false, colbert: false })
      expect(noExtras.sparse).toBeUndefined()
      expect(noExtras.colbert).toBeUndefined()
    })
  }, 15_000)
})

describe("instructions", () => {
  test("input: query prepends the bundle's instruction; passages are embedded as given", async () => {
    const model = join(root, "dynamic-model")
    const dir = (await writeBundle(model, join(root, "instructed"), { instruction: "fox score " })).dir
    await withEmbedder(dir, async (embedder) => {
      const [passage, query, prefixed] = [
        await embedder.embed(["the lazy dog"]),
        await embedder.embed(["the lazy dog"], { input: "query" }),
        await embedder.embed(["fox score the lazy dog"]),
      ]
      expect(maxAbsDiff(query.dense.data, prefixed.dense.data)).toBeLessThan(1e-6)
      expect(maxAbsDiff(query.dense.data, passage.dense.data)).toBeGreaterThan(1e-3)
    })
  })
})
