// Bad input against a served synthetic model: malformed JSON, wrong types, empty input, empty
// strings, 10 MB bodies, 100,000-item arrays, invalid UTF-8, token ids outside the vocabulary, a
// client that disconnects mid-request, a client trickling its body byte by byte, and a full queue.
// Each gets a 4xx with a JSON error naming the field (or the connection closes), nothing is left
// queued, and the next request succeeds.
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type RunningServer, startServer } from "./index.ts"
import { servedTexts, writeServedBundle } from "./testing/served-fixture.ts"

const root = await mkdtemp(join(tmpdir(), "kiln-serve-bad-"))
const bundle = await writeServedBundle(root, "embedding")
const rerankBundle = await writeServedBundle(root, "reranker")
let server: RunningServer
let reranker: RunningServer

beforeAll(async () => {
  ;[server, reranker] = await Promise.all([
    startServer(bundle, { port: 0, threads: 1, accessLog: false, timeoutMs: 1_000 }),
    startServer(rerankBundle, { port: 0, threads: 1, accessLog: false }),
  ])
})
afterAll(async () => {
  await Promise.all([server?.shutdown(), reranker?.shutdown()])
  await rm(root, { recursive: true, force: true })
})

const send = async (path: string, body: string | Uint8Array, target = server, headers: Record<string, string> = { "content-type": "application/json" }) => {
  const response = await fetch(`${target.url}${path}`, { method: "POST", headers, body })
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> }
}
const post = (path: string, body: unknown, target = server) => send(path, JSON.stringify(body), target)

/** TEI's error message, or OpenAI's error.message. */
const messageOf = (body: Record<string, unknown>): string => (typeof body.error === "string" ? body.error : ((body.error as { message: string }).message ?? ""))

/** The server still answers a good request, and nothing is left waiting in its queue. */
const expectServing = async (target = server) => {
  const ok = await post("/embed", { inputs: ["the quick brown fox"] }, target === reranker ? server : target)
  expect(ok.status).toBe(200)
  expect(await (await fetch(`${target.url}/health`)).json()).toEqual({ status: "ok" })
  expect(target.model.batchers.reduce((sum, b) => sum + b.depth, 0)).toBe(0)
}

/** Speaks HTTP/1.1 by hand: writes `head`, then `body` pieces `gapMs` apart (stopping if the server answers), then maybe hangs up. */
const raw = (target: RunningServer, head: string, body: readonly string[], gapMs: number, hangUp = false) =>
  new Promise<{ reply: string; closed: boolean; sentPieces: number }>((resolve, reject) => {
    let reply = ""
    let closed = false
    let sentPieces = 0
    void Bun.connect({
      hostname: "127.0.0.1",
      port: target.port,
      socket: {
        data: (_socket, data) => void (reply += data.toString()),
        close: () => {
          closed = true
          resolve({ reply, closed, sentPieces })
        },
        error: (_socket, error) => reject(error),
        async open(socket) {
          socket.write(head)
          for (const piece of body) {
            if (reply !== "" || closed) break
            await Bun.sleep(gapMs)
            socket.write(piece)
            sentPieces++
          }
          if (hangUp) socket.end()
          else {
            // Wait for the answer, then close our side.
            for (let i = 0; i < 100 && reply === ""; i++) await Bun.sleep(20)
            socket.end()
          }
        },
      },
    }).catch(reject)
  })

describe("malformed and mistyped bodies", () => {
  test("malformed JSON is a 400 naming the body", async () => {
    const response = await send("/embed", '{"inputs": ["a", ')
    expect(response.status).toBe(400)
    expect(messageOf(response.body)).toStartWith("body: malformed JSON")
    await expectServing()
  })

  test("wrong types are 400s naming the field, in each API's error shape", async () => {
    const openai = await post("/v1/embeddings", { model: "m", input: ["fine", 3] })
    expect(openai.status).toBe(400)
    expect(openai.body).toMatchObject({ error: { type: "invalid_request_error", param: "input[1]" } })
    expect(messageOf(openai.body)).toContain("expected string, received number")
    const cases: [string, unknown, string, RunningServer?][] = [
      ["/embed", { inputs: 5 }, "inputs: expected a string, an array of strings or token-id arrays, got number"],
      ["/embed", { inputs: [{ text: "x" }] }, "inputs[0]: expected a string, a token id or a token-id array, got object"],
      ["/embed", { inputs: "x", truncate: "yes" }, "truncate: "],
      ["/embed", [1, 2], "body: "],
      ["/embed", null, "body: "],
      ["/v1/embeddings", { input: "x", encoding_format: "int8" }, "encoding_format: "],
      ["/rerank", { query: 1, texts: ["a"] }, "query: ", reranker],
      ["/rerank", { query: "q", texts: "a" }, "texts: ", reranker],
    ]
    for (const [path, body, expected, target] of cases) {
      const response = await post(path, body, target)
      expect({ path, body, status: response.status, message: messageOf(response.body).slice(0, expected.length) }).toEqual({ path, body, status: 400, message: expected })
    }
    const notJson = await send("/embed", "inputs=x", server, { "content-type": "application/x-www-form-urlencoded" })
    expect(notJson.status).toBe(415)
    await expectServing()
  })
})

describe("empty input", () => {
  test("an empty array, a missing field and an empty string are 400s naming the field", async () => {
    const cases: [string, unknown, string, RunningServer?][] = [
      ["/embed", { inputs: [] }, "inputs: expected at least one item, got an empty array"],
      ["/embed", {}, "inputs: required: a string, an array of strings or token-id arrays"],
      ["/v1/embeddings", { model: "m", input: "" }, "input: must not be an empty string"],
      ["/v1/embeddings", { model: "m", input: [[]] }, "input[0]: must not be an empty token array"],
      ["/rerank", { query: "q", texts: [] }, "texts: expected at least one text, got an empty array", reranker],
    ]
    for (const [path, body, expected, target] of cases) {
      const response = await post(path, body, target)
      expect({ path, status: response.status, message: messageOf(response.body) }).toEqual({ path, status: 400, message: expected })
    }
    const empty = await send("/embed", "")
    expect(empty.status).toBe(400)
    expect(messageOf(empty.body)).toStartWith("body: empty")
    await expectServing()
  })

  test("empty strings among good ones are 400s naming the item", async () => {
    expect(messageOf((await post("/embed", { inputs: ["a", "b", ""] })).body)).toBe("inputs[2]: must not be an empty string")
    expect(messageOf((await post("/v1/embeddings", { model: "m", input: ["", "b"] })).body)).toBe("input[0]: must not be an empty string")
    expect(messageOf((await post("/rerank", { query: "", texts: ["a"] }, reranker)).body)).toBe("query: must not be an empty string")
    await expectServing()
  })
})

describe("size limits", () => {
  test("a 10 MB body is refused with 413 before it is read, declared or streamed without a length", async () => {
    const big = JSON.stringify({ inputs: ["x".repeat(10 * 1024 * 1024)] })
    const declared = await send("/embed", big)
    expect(declared.status).toBe(413)
    expect(messageOf(declared.body)).toStartWith("body: larger than the 2097152-byte limit")
    // Chunked: the server stops reading once past the limit rather than buffering 10 MB.
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024))
    let sent = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 10 * 1024 * 1024) controller.close()
        else {
          controller.enqueue(chunk)
          sent += chunk.byteLength
        }
      },
    })
    const streamed = await fetch(`${server.url}/embed`, { method: "POST", headers: { "content-type": "application/json" }, body: stream }).then(
      async (r) => ({ status: r.status, message: messageOf((await r.json()) as Record<string, unknown>) }),
      () => ({ status: 0, message: "connection closed" }),
    )
    if (streamed.status !== 0) expect(streamed).toEqual({ status: 413, message: "body: larger than the 2097152-byte limit (--max-body-bytes)" })
    await expectServing()
  })

  test("a 100,000-item array is a 413 naming the field and the limit", async () => {
    const response = await post("/embed", { inputs: Array.from({ length: 100_000 }, () => "fox") })
    expect(response.status).toBe(413)
    expect(messageOf(response.body)).toBe("inputs: 100000 items, more than the limit of 2048 per request (--max-items)")
    const rerank = await post("/rerank", { query: "q", texts: Array.from({ length: 100_000 }, () => "fox") }, reranker)
    expect(rerank.status).toBe(413)
    expect(messageOf(rerank.body)).toStartWith("texts: 100000 items")
    await expectServing()
  })
})

describe("encodings and token ids", () => {
  test("a body that is not valid UTF-8 is a 400 naming the byte", async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('{"inputs": "ab'), 0xff, 0xfe, ...new TextEncoder().encode('"}')])
    const response = await send("/embed", bytes)
    expect(response.status).toBe(400)
    expect(messageOf(response.body)).toBe("body: not valid UTF-8 (at byte 14)")
    await expectServing()
  })

  test("token ids outside the vocabulary, negative or fractional, are 400s naming the id's position", async () => {
    const vocab = server.model.vocabSize!
    const beyond = await post("/v1/embeddings", { model: "m", input: [[2, 5, vocab + 10, 3]] })
    expect(beyond.status).toBe(400)
    expect(beyond.body).toMatchObject({ error: { param: "input[0][2]" } })
    expect(messageOf(beyond.body)).toBe(`input[0][2]: token id ${vocab + 10} is outside the vocabulary (ids 0 to ${vocab - 1})`)
    const single = await post("/embed", { inputs: [2, vocab, 3] })
    expect(messageOf(single.body)).toStartWith("inputs[1]: token id")
    expect(messageOf((await post("/embed", { inputs: [[2, -1, 3]] })).body)).toStartWith("inputs[0][1]: expected a token id")
    expect(messageOf((await post("/embed", { inputs: [[2, 1.5, 3]] })).body)).toStartWith("inputs[0][1]: expected a token id")
    await expectServing()
  })
})

describe("misbehaving clients", () => {
  test("a client that disconnects mid-body, or while its request waits, leaves nothing behind", async () => {
    const body = JSON.stringify({ inputs: servedTexts(50) })
    const cut = await raw(server, `POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, [body.slice(0, 40)], 10, true)
    expect(cut.closed).toBe(true)
    // Aborted after sending: the server may be tokenizing or batching it when the client goes away.
    for (let i = 0; i < 5; i++) {
      const controller = new AbortController()
      const pending = fetch(`${server.url}/embed`, { method: "POST", headers: { "content-type": "application/json" }, body, signal: controller.signal }).catch((e: Error) => e.name)
      await Bun.sleep(i)
      controller.abort()
      expect(["AbortError", 200]).toContain(await pending.then((r) => (typeof r === "string" ? r : r.status)))
    }
    await Bun.sleep(50)
    await expectServing()
  })

  test("a client trickling its body byte by byte gets a 408 at the request timeout (1 s here), not a held connection", async () => {
    const body = JSON.stringify({ inputs: ["the quick brown fox jumps over the lazy dog and keeps running"] })
    const started = performance.now()
    const slow = await raw(server, `POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, body.split(""), 50)
    const elapsed = performance.now() - started
    // The whole body would take ~4 s at this pace: the server answered before it was sent.
    expect(slow.sentPieces).toBeLessThan(body.length)
    expect(elapsed).toBeLessThan(3_500)
    expect(slow.reply).toStartWith("HTTP/1.1 408")
    expect(slow.reply).toContain("body: not received within the 1000 ms request timeout")
    await expectServing()
  })
})

describe("back-pressure", () => {
  test("when the queue is full requests get 429 with Retry-After, the rest are answered, and the server recovers", async () => {
    const small = await startServer(bundle, { port: 0, threads: 1, accessLog: false, maxQueueRows: 6, maxBatchTokens: 64 })
    try {
      const body = JSON.stringify({ inputs: servedTexts(4, 3) })
      const responses = await Promise.all(
        Array.from({ length: 40 }, () => fetch(`${small.url}/embed`, { method: "POST", headers: { "content-type": "application/json" }, body }).then(async (r) => ({ status: r.status, retryAfter: r.headers.get("retry-after"), body: (await r.json()) as Record<string, unknown> }))),
      )
      const refused = responses.filter((r) => r.status === 429)
      expect(refused.length).toBeGreaterThan(0)
      expect(responses.filter((r) => r.status === 200).length).toBeGreaterThan(0)
      expect(responses.every((r) => r.status === 200 || r.status === 429)).toBe(true)
      for (const r of refused) {
        expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1)
        expect(r.body).toMatchObject({ error_type: "Overloaded" })
        expect(messageOf(r.body)).toStartWith("the queue is full")
      }
      await expectServing(small)
    } finally {
      await small.shutdown()
    }
  })
})
