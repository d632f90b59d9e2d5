// Session pools: several instances in worker threads give the same results as one session in
// this thread, requests spread over the instances, and failures and closing are reported clearly.
import { afterAll, describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { writeBundle } from "./bundle.ts"
import { Embedder } from "./embedder.ts"
import { RuntimeError } from "./errors.ts"
import { SessionOptionsSpec } from "./runtime-config.ts"
import { openSessionPool } from "./session-pool.ts"
import { fixtureTexts, writeEncoderFixture } from "./testing/encoder-fixture.ts"

const root = await mkdtemp(join(tmpdir(), "kiln-runtime-pool-"))
afterAll(() => rm(root, { recursive: true, force: true }))

const model = await writeEncoderFixture(join(root, "model"), { task: "m3" })
const bundle = (await writeBundle(model.dir, join(root, "bundle"))).dir
const spec = SessionOptionsSpec.parse({ graphOptimizationLevel: "all" })

describe("worker-thread instances", () => {
  test("two instances in workers give the same dense, sparse and colbert outputs as one instance", async () => {
    const texts = fixtureTexts(40, 5)
    const one = await Embedder.load(bundle, { threads: 1, instances: 1 })
    const two = await Embedder.load(bundle, { threads: 2, instances: 2 })
    try {
      expect(two.bundle.pool.instances).toBe(2)
      expect(two.bundle.pool.threadsPerInstance).toBe(1)
      const [a, b] = [await one.embed(texts, { batchSize: 3 }), await two.embed(texts, { batchSize: 3 })]
      expect(Array.from(b.dense.data)).toEqual(Array.from(a.dense.data))
      b.sparse!.forEach((weights, i) => expect([...weights.entries()].sort()).toEqual([...a.sparse![i]!.entries()].sort()))
      b.colbert!.forEach((vectors, i) => expect(Array.from(vectors)).toEqual(Array.from(a.colbert![i]!)))
    } finally {
      await Promise.all([one.close(), two.close()])
    }
  }, 15_000)

  test("workers: true puts even a single instance in a worker thread, with the same outputs", async () => {
    const texts = fixtureTexts(12, 6)
    const RealWorker = globalThis.Worker
    let started = 0
    globalThis.Worker = class extends RealWorker {
      constructor(...args: ConstructorParameters<typeof Worker>) {
        super(...args)
        started++
      }
    }
    let inThread: Embedder, inWorker: Embedder
    try {
      inThread = await Embedder.load(bundle, { threads: 1 })
      expect(started).toBe(0)
      inWorker = await Embedder.load(bundle, { threads: 1, workers: true })
      expect(started).toBe(1)
    } finally {
      globalThis.Worker = RealWorker
    }
    try {
      expect(inWorker.bundle.pool.instances).toBe(1)
      const [a, b] = [await inThread.embed(texts), await inWorker.embed(texts)]
      expect(Array.from(b.dense.data)).toEqual(Array.from(a.dense.data))
    } finally {
      await Promise.all([inThread.close(), inWorker.close()])
    }
  }, 15_000)

  test("concurrent requests are spread over the instances", async () => {
    const pool = await openSessionPool(join(bundle, "onnx", "model.onnx"), spec, { threads: 2, instances: 2 })
    const embedder = await Embedder.load(bundle, { threads: 1 })
    try {
      const tokens = embedder.bundle.tokenizer.encode(fixtureTexts(8, 9))
      const request = embedder.bundle.request(tokens, ["dense_vecs"])
      const results = await Promise.all(Array.from({ length: 6 }, () => pool.run(request)))
      for (const r of results) expect(Array.from(r.outputs.dense_vecs!.data)).toEqual(Array.from(results[0]!.outputs.dense_vecs!.data))
      expect(results.every((r) => r.modelMicros > 0)).toBe(true)
      expect(pool.runsPerInstance).toHaveLength(2)
      expect(pool.runsPerInstance.every((n) => n >= 1)).toBe(true)
      expect(pool.runsPerInstance.reduce((a, b) => a + b, 0)).toBe(6)
    } finally {
      await Promise.all([pool.close(), embedder.close()])
    }
  }, 15_000)
})

describe("failures", () => {
  test("a model ORT cannot load fails with session-failed naming the file, in this thread and in workers", async () => {
    const bad = join(root, "bad.onnx")
    writeFileSync(bad, "not a model")
    for (const instances of [1, 2]) {
      const error = await openSessionPool(bad, spec, { instances }).catch((e) => e)
      expect(error).toBeInstanceOf(RuntimeError)
      expect(error.reason).toBe("session-failed")
      expect(error.message).toContain(bad)
    }
  })

  test("a run with a wrong input shape is a session-failed error listing the feeds; a closed pool refuses work", async () => {
    for (const instances of [1, 2]) {
      const pool = await openSessionPool(join(bundle, "onnx", "model.onnx"), spec, { threads: 2, instances })
      const ids = { dtype: "int64" as const, dims: [1, 3], data: new BigInt64Array([101n, 5n, 102n]) }
      const error = await pool.run({ feeds: { input_ids: ids, attention_mask: { ...ids, dims: [1, 2], data: new BigInt64Array(2) } }, fetches: ["dense_vecs"] }).catch((e) => e)
      expect(error).toBeInstanceOf(RuntimeError)
      expect(error.message).toContain("attention_mask int64[1, 2]")
      await pool.close()
      await expect(pool.run({ feeds: {}, fetches: [] })).rejects.toThrow("the session pool is closed")
    }
  })

  test("closing lets running requests finish and rejects the queued ones", async () => {
    const pool = await openSessionPool(join(bundle, "onnx", "model.onnx"), spec, { threads: 2, instances: 2 })
    const embedder = await Embedder.load(bundle, { threads: 1 })
    try {
      const request = embedder.bundle.request(embedder.bundle.tokenizer.encode(fixtureTexts(8, 9)), ["dense_vecs"])
      const runs = Array.from({ length: 5 }, () => pool.run(request).then(() => "done", (e: Error) => e.message))
      await pool.close()
      const outcomes = await Promise.all(runs)
      expect(outcomes.slice(0, 2)).toEqual(["done", "done"])
      for (const outcome of outcomes.slice(2)) expect(outcome).toContain("closed before this request ran")
    } finally {
      await embedder.close()
    }
  })

  test("a process that forgets close() still exits once its work is done", async () => {
    const script = join(root, "forgetful.ts")
    writeFileSync(
      script,
      [
        `import { Embedder } from ${JSON.stringify(join(import.meta.dir, "embedder.ts"))}`,
        `const embedder = await Embedder.load(${JSON.stringify(bundle)}, { threads: 2, instances: 2 })`,
        `const { dense } = await embedder.embed(["a text", "another text"])`,
        `console.log(dense.shape.join("x"))`,
      ].join("\n"),
    )
    const child = Bun.spawn(["bun", script], { stdout: "pipe", stderr: "pipe" })
    const timer = setTimeout(() => child.kill(), 10_000)
    const code = await child.exited
    clearTimeout(timer)
    expect({ code, out: (await new Response(child.stdout).text()).trim() }).toEqual({ code: 0, out: "2x16" })
  }, 15_000)
})
