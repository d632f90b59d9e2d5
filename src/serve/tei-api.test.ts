// Plain fetch calls shaped as text-embeddings-inference's documentation shows them, against served
// synthetic models (synth → export → deploy): /embed equals Embedder.embed, truncation, bge-m3's
// /embed_sparse equals the Embedder's lexical weights, /rerank equals Reranker.score best first, and
// /health, /info, /metrics (Prometheus text) and /docs (OpenAPI) describe the server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Embedder, Reranker } from "../runtime/index.ts"
import { type RunningServer, startServer } from "./index.ts"
import { servedTexts, writeServedBundle } from "./testing/served-fixture.ts"

const root = await mkdtemp(join(tmpdir(), "kiln-serve-tei-"))
const [embeddingBundle, m3Bundle, rerankerBundle] = await Promise.all([writeServedBundle(root, "embedding"), writeServedBundle(root, "m3"), writeServedBundle(root, "reranker")])
const texts = servedTexts(9, 17)
const servers: RunningServer[] = []
const serve = async (dir: string) => {
  const server = await startServer(dir, { port: 0, threads: 1, accessLog: false })
  servers.push(server)
  return server
}
let embedding: RunningServer, m3: RunningServer, reranker: RunningServer

beforeAll(async () => {
  ;[embedding, m3, reranker] = await Promise.all([serve(embeddingBundle), serve(m3Bundle), serve(rerankerBundle)])
})
afterAll(async () => {
  await Promise.all(servers.map((s) => s.shutdown()))
  await rm(root, { recursive: true, force: true })
})

const post = async (server: RunningServer, path: string, body: unknown) => {
  const response = await fetch(`${server.url}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
  return { status: response.status, body: (await response.json()) as unknown }
}

const withEmbedder = async <T>(dir: string, use: (e: Embedder) => Promise<T>): Promise<T> => {
  const embedder = await Embedder.load(dir, { threads: 1 })
  try {
    return await use(embedder)
  } finally {
    await embedder.close()
  }
}

describe("POST /embed", () => {
  test("a batch of inputs gives Embedder.embed's vectors in order; a single string gives one", async () => {
    const expected = await withEmbedder(embeddingBundle, (e) => e.embed(texts))
    const width = expected.dense.shape[1] as number
    const rows = Array.from({ length: texts.length }, (_, i) => Array.from(expected.dense.data.subarray(i * width, (i + 1) * width)))
    expect(await post(embedding, "/embed", { inputs: texts })).toEqual({ status: 200, body: rows })
    expect(await post(embedding, "/embed", { inputs: texts[2], normalize: true })).toEqual({ status: 200, body: [rows[2]] })
  })

  test("an input over the max length is a 413 naming it unless truncate is true, which cuts it as the tokenizer does", async () => {
    const long = Array.from({ length: 600 }, (_, i) => ["fox", "dog", "text"][i % 3]).join(" ")
    const refused = await post(embedding, "/embed", { inputs: ["short", long] })
    expect(refused.status).toBe(413)
    expect(refused.body).toMatchObject({ error_type: "Validation" })
    expect((refused.body as { error: string }).error).toStartWith("inputs[1]: longer than the model's")
    const cut = await post(embedding, "/embed", { inputs: [long], truncate: true })
    expect(cut.status).toBe(200)
    const expected = await withEmbedder(embeddingBundle, (e) => e.embed([long]))
    expect(cut.body).toEqual([Array.from(expected.dense.data)])
  })
})

describe("POST /embed_sparse", () => {
  test("bge-m3's lexical weights as [{index, value}] per input, ids ascending, equal to the Embedder's", async () => {
    const expected = await withEmbedder(m3Bundle, (e) => e.embed(texts))
    const response = await post(m3, "/embed_sparse", { inputs: texts })
    expect(response.status).toBe(200)
    const body = response.body as { index: number; value: number }[][]
    body.forEach((weights, i) => {
      expect(weights.map((w) => w.index)).toEqual([...weights.map((w) => w.index)].sort((a, b) => a - b))
      expect(weights.map((w) => [w.index, w.value])).toEqual([...expected.sparse![i]!.entries()].sort((a, b) => a[0] - b[0]))
    })
    expect(body.some((w) => w.length > 1)).toBe(true)
  })

  test("on a model without lexical weights it is a 400 saying so", async () => {
    const response = await post(embedding, "/embed_sparse", { inputs: "the fox" })
    expect(response.status).toBe(400)
    expect((response.body as { error: string }).error).toContain("no lexical weights")
  })
})

describe("POST /rerank", () => {
  test("scores equal Reranker.score (sigmoid unless raw_scores), best first, with text on request", async () => {
    const query = "quick brown fox"
    const local = await Reranker.load(rerankerBundle, { threads: 1 })
    const logits = await local.score(texts.map((t) => [query, t] as const)).finally(() => local.close())
    const response = await post(reranker, "/rerank", { query, texts, return_text: true })
    expect(response.status).toBe(200)
    const ranked = response.body as { index: number; score: number; text: string }[]
    expect(ranked.map((r) => r.index).sort((a, b) => a - b)).toEqual(texts.map((_, i) => i))
    for (const r of ranked) {
      expect(r.score).toBeCloseTo(1 / (1 + Math.exp(-logits[r.index]!)), 6)
      expect(r.text).toBe(texts[r.index]!)
    }
    expect(ranked.map((r) => r.score)).toEqual([...ranked.map((r) => r.score)].sort((a, b) => b - a))
    const raw = (await post(reranker, "/rerank", { query, texts, raw_scores: true })).body as { index: number; score: number; text?: string }[]
    for (const r of raw) {
      expect(r.score).toBeCloseTo(logits[r.index]!, 6)
      expect(r.text).toBeUndefined()
    }
  })

  test("embedding routes on a reranker, and /rerank on an embedding model, are 400s saying which route to use", async () => {
    expect(((await post(reranker, "/embed", { inputs: "x" })).body as { error: string }).error).toContain("use POST /rerank")
    expect(((await post(embedding, "/rerank", { query: "q", texts: ["x"] })).body as { error: string }).error).toContain("not a reranker")
  })
})

describe("GET routes", () => {
  test("/health is ok; /info gives the model, task and limits", async () => {
    expect(await (await fetch(`${embedding.url}/health`)).json()).toEqual({ status: "ok" })
    const info = (await (await fetch(`${m3.url}/info`)).json()) as Record<string, unknown>
    expect(info).toMatchObject({ model_id: "m3-bundle", task: "m3", model_type: { embedding: { pooling: "cls" } }, max_input_length: m3.model.tokenizer.maxLength, sparse: true })
    expect(((await (await fetch(`${reranker.url}/info`)).json()) as { model_type: object }).model_type).toHaveProperty("reranker")
  })

  test("/metrics is Prometheus text with request counts, batch sizes, queue depth and latency histograms", async () => {
    await post(embedding, "/embed", { inputs: texts.slice(0, 2) })
    const response = await fetch(`${embedding.url}/metrics`)
    expect(response.headers.get("content-type")).toContain("text/plain")
    const text = await response.text()
    expect(text).toMatch(/^kiln_requests_total\{route="\/embed",status="200"\} \d+$/m)
    expect(text).toMatch(/^kiln_request_duration_seconds_bucket\{le="\+Inf",route="\/embed"\} \d+$/m)
    expect(text).toMatch(/^kiln_batch_size_count\{operation="embed"\} [1-9]\d*$/m)
    expect(text).toMatch(/^kiln_queue_depth 0$/m)
    expect(text).toContain("# TYPE kiln_batch_padded_tokens histogram")
  })

  test("/docs is an OpenAPI 3.1 document whose request schemas are the routes' own", async () => {
    const doc = (await (await fetch(`${embedding.url}/docs`)).json()) as { openapi: string; paths: Record<string, { post?: { requestBody: { content: { "application/json": { schema: { properties: Record<string, unknown>; required?: string[] } } } } } }> }
    expect(doc.openapi).toBe("3.1.0")
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/embeddings", "/embed", "/embed_sparse", "/rerank", "/health", "/info", "/metrics"]))
    const rerank = doc.paths["/rerank"]!.post!.requestBody.content["application/json"].schema
    expect(Object.keys(rerank.properties)).toEqual(expect.arrayContaining(["query", "texts", "raw_scores", "return_text"]))
    expect(rerank.required).toEqual(expect.arrayContaining(["query", "texts"]))
    expect(Object.keys(doc.paths["/v1/embeddings"]!.post!.requestBody.content["application/json"].schema.properties)).toEqual(expect.arrayContaining(["input", "encoding_format", "dimensions"]))
  })

  test("an unknown route is a 404 and a wrong method a 405, both JSON", async () => {
    const missing = await fetch(`${embedding.url}/nowhere`)
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { error: string }).error).toContain("/nowhere")
    const wrong = await fetch(`${embedding.url}/embed`)
    expect(wrong.status).toBe(405)
  })
})
