// The official openai npm client against `kiln serve` on a synthetic model built by synth → export →
// deploy: its default (base64) and float encodings, token-id input and usage counts, and its typed
// errors; the embeddings equal Embedder.embed for the same texts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import OpenAI from "openai"
import { Embedder } from "../runtime/index.ts"
import { type RunningServer, startServer } from "./index.ts"
import { servedTexts, writeServedBundle } from "./testing/served-fixture.ts"

const root = await mkdtemp(join(tmpdir(), "kiln-serve-openai-"))
const bundle = await writeServedBundle(root, "embedding")
const texts = servedTexts(12)
let server: RunningServer
let embedder: Embedder
let client: OpenAI

beforeAll(async () => {
  server = await startServer(bundle, { port: 0, threads: 1, accessLog: false, modelId: "bge-tiny" })
  embedder = await Embedder.load(bundle, { threads: 1 })
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "not-checked", maxRetries: 0 })
})
afterAll(async () => {
  await server?.shutdown()
  await embedder?.close()
  await rm(root, { recursive: true, force: true })
})

const maxAbsDiff = (a: readonly number[], b: readonly number[]): number => {
  expect(a.length).toBe(b.length)
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0)
}
const rowsOf = (data: Float32Array, width: number): number[][] => Array.from({ length: data.length / width }, (_, i) => Array.from(data.subarray(i * width, (i + 1) * width)))

describe("openai client", () => {
  test("embeddings.create (base64 by default) returns exactly Embedder.embed's vectors, in order, with usage", async () => {
    const expected = await embedder.embed(texts)
    const response = await client.embeddings.create({ model: "anything", input: texts })
    expect(response.object).toBe("list")
    expect(response.model).toBe("bge-tiny")
    expect(response.data.map((d) => d.index)).toEqual(texts.map((_, i) => i))
    expect(response.data.map((d) => d.embedding)).toEqual(rowsOf(expected.dense.data, embedder.hiddenSize))
    const tokens = embedder.bundle.tokenizer.tokenLengths(texts).reduce((a, b) => a + b, 0)
    expect(response.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens })
  })

  test("encoding_format float gives the same vectors; a single string is one embedding", async () => {
    const expected = await embedder.embed(texts.slice(0, 3))
    const response = await client.embeddings.create({ model: "m", input: texts.slice(0, 3), encoding_format: "float" })
    expect(response.data.map((d) => d.embedding)).toEqual(rowsOf(expected.dense.data, embedder.hiddenSize))
    const single = await client.embeddings.create({ model: "m", input: texts[1]! })
    expect(single.data).toHaveLength(1)
    expect(single.data[0]!.embedding).toEqual(rowsOf(expected.dense.data, embedder.hiddenSize)[1]!)
  })

  test("token-id arrays (specials included, as the tokenizer gives them) embed like their texts", async () => {
    const encoded = embedder.bundle.tokenizer.encode(texts.slice(0, 4))
    const seq = encoded.dims[1]
    const ids = Array.from({ length: 4 }, (_, r) => Array.from(encoded.inputIds.subarray(r * seq, r * seq + (encoded.lengths[r] as number))))
    const expected = await embedder.embed(texts.slice(0, 4))
    const response = await client.embeddings.create({ model: "m", input: ids })
    expect(response.data.map((d) => d.embedding)).toEqual(rowsOf(expected.dense.data, embedder.hiddenSize))
    const one = await client.embeddings.create({ model: "m", input: ids[2]! })
    expect(one.data[0]!.embedding).toEqual(rowsOf(expected.dense.data, embedder.hiddenSize)[2]!)
  })

  test("dimensions other than the model's width is a 400 the client raises as BadRequestError naming the field", async () => {
    const error = await client.embeddings.create({ model: "m", input: "the fox", dimensions: 8 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).status).toBe(400)
    expect((error as Error).message).toContain("dimensions")
    const same = await client.embeddings.create({ model: "m", input: "the fox", dimensions: embedder.hiddenSize })
    expect(same.data[0]!.embedding).toHaveLength(embedder.hiddenSize)
  })

  test("models.list names the served model", async () => {
    const models = await client.models.list()
    expect(models.data.map((m) => m.id)).toEqual(["bge-tiny"])
  })

  test("concurrent client calls are batched together and each gets its own embeddings", async () => {
    const expected = rowsOf((await embedder.embed(texts)).dense.data, embedder.hiddenSize)
    const before = await batchCount(server)
    const responses = await Promise.all(texts.map((text) => client.embeddings.create({ model: "m", input: [text] })))
    // Batched with other requests' rows, padded differently: equal up to float rounding.
    responses.forEach((response, i) => expect(maxAbsDiff(response.data[0]!.embedding, expected[i]!)).toBeLessThan(1e-5))
    // Fewer model batches than requests: requests that arrived while a batch ran shared the next one.
    expect((await batchCount(server)) - before).toBeLessThan(texts.length)
  })
})

/** Model batches run so far for dense embeddings, from /metrics. */
const batchCount = async (running: RunningServer): Promise<number> => {
  const text = await (await fetch(`${running.url}/metrics`)).text()
  const line = text.split("\n").find((l) => l.startsWith('kiln_batch_size_count{operation="embed"}'))
  return line === undefined ? 0 : Number(line.split(" ").at(-1))
}
