// Batcher: rows of concurrent requests share batches within the token budget, grouped by length,
// and come back to their own request in order; a full queue refuses, an aborted request leaves the
// queue, a failed batch fails only its requests, and a lone row waits at most maxWait.
import { describe, expect, test } from "bun:test"
import { Batcher, type BatcherOptions, type BatchStats, QueueFullError } from "./batcher.ts"

interface Row {
  readonly id: string
  readonly length: number
}

/** A batcher whose runs wait until the test releases them, recording each batch's row ids. */
const harness = (options: Partial<BatcherOptions> = {}) => {
  const batches: string[][] = []
  const stats: BatchStats[] = []
  const gates: { release: () => void; fail: (e: Error) => void }[] = []
  const batcher = new Batcher<Row, string>(
    { maxBatchTokens: 100, maxWaitMs: 1_000, maxQueueRows: 50, concurrency: 1, ...options },
    (rows) => {
      batches.push(rows.map((r) => r.id))
      return new Promise((resolve, reject) => gates.push({ release: () => resolve(rows.map((r) => `out:${r.id}`)), fail: reject }))
    },
    (row) => row.length,
    (s) => stats.push(s),
  )
  return { batcher, batches, stats, gates }
}

const rows = (prefix: string, ...lengths: number[]): Row[] => lengths.map((length, i) => ({ id: `${prefix}${i}`, length }))
const tick = () => new Promise((resolve) => setTimeout(resolve, 0))

/** Releases every run as it starts until `until` settles. */
const drive = async <T>(gates: readonly { release: () => void }[], until: Promise<T>): Promise<T> => {
  let done = false
  void until.finally(() => (done = true)).catch(() => {})
  while (!done) {
    for (const gate of gates) gate.release()
    await tick()
  }
  return until
}

describe("batching", () => {
  test("an idle batcher runs a lone request at once; requests arriving meanwhile share the next batch, each getting its own rows back in order", async () => {
    const { batcher, batches, gates } = harness()
    const first = batcher.submit(rows("a", 5))
    expect(batches).toEqual([["a0"]])
    const second = batcher.submit(rows("b", 5, 5))
    const third = batcher.submit(rows("c", 5))
    expect(batcher.depth).toBe(3)
    gates[0]!.release()
    expect(await first).toEqual(["out:a0"])
    await tick()
    expect(batches[1]!.sort()).toEqual(["b0", "b1", "c0"])
    gates[1]!.release()
    expect(await second).toEqual(["out:b0", "out:b1"])
    expect(await third).toEqual(["out:c0"])
  })

  test("a batch stays within the token budget (rows × longest row); a row longer than the budget runs alone", async () => {
    const { batcher, stats, gates } = harness({ maxBatchTokens: 40 })
    const blocker = batcher.submit(rows("x", 1))
    const all = Promise.all([blocker, batcher.submit(rows("a", 10, 10, 10, 10, 10, 10, 10)), batcher.submit(rows("b", 90))])
    await drive(gates, all)
    const later = stats.slice(1)
    expect(later.map((s) => s.rows).reduce((a, b) => a + b, 0)).toBe(8)
    for (const s of later) expect(s.paddedTokens <= 40 || s.rows === 1).toBe(true)
    expect(later.filter((s) => s.rows === 4)).toHaveLength(1)
    expect(later.some((s) => s.rows === 1 && s.paddedTokens === 90)).toBe(true)
  })

  test("short and long rows are grouped apart rather than padded to each other", async () => {
    const { batcher, batches, gates } = harness({ maxBatchTokens: 400 })
    const blocker = batcher.submit(rows("x", 1))
    await drive(gates, Promise.all([blocker, batcher.submit(rows("s", 10, 12)), batcher.submit(rows("l", 100, 95)), batcher.submit(rows("t", 11, 9))]))
    const groups = batches.slice(1).map((b) => b.map((id) => id[0]).sort().join(""))
    // The four short rows fit one batch (4 × 12 tokens) without the long ones (which would make it 6 × 100 > 400).
    expect(groups).toEqual(["sstt", "ll"])
  })
})

describe("back-pressure and failures", () => {
  test("a request that does not fit the queue is refused with QueueFullError; the queue keeps serving", async () => {
    const { batcher, gates } = harness({ maxQueueRows: 3 })
    const running = batcher.submit(rows("a", 5))
    const waiting = batcher.submit(rows("b", 5, 5))
    let refused: unknown
    try {
      batcher.submit(rows("c", 5, 5))
    } catch (e) {
      refused = e
    }
    expect(refused).toBeInstanceOf(QueueFullError)
    expect((refused as QueueFullError).retryAfterSeconds).toBeGreaterThanOrEqual(1)
    gates[0]!.release()
    await running
    await tick()
    gates[1]!.release()
    expect(await waiting).toEqual(["out:b0", "out:b1"])
  })

  test("an aborted request's waiting rows leave the queue and the request rejects with the abort reason", async () => {
    const { batcher, batches, gates } = harness()
    const running = batcher.submit(rows("a", 5))
    const controller = new AbortController()
    const aborted = batcher.submit(rows("b", 5, 5), controller.signal)
    const kept = batcher.submit(rows("c", 5))
    controller.abort(new Error("client went away"))
    await expect(aborted).rejects.toThrow("client went away")
    expect(batcher.depth).toBe(1)
    gates[0]!.release()
    await running
    await tick()
    expect(batches[1]).toEqual(["c0"])
    gates[1]!.release()
    expect(await kept).toEqual(["out:c0"])
  })

  test("a failed batch rejects the requests in it, and the next batch runs", async () => {
    const { batcher, gates } = harness()
    const failing = batcher.submit(rows("a", 5))
    gates[0]!.fail(new Error("session failed"))
    await expect(failing).rejects.toThrow("session failed")
    const next = batcher.submit(rows("b", 5))
    gates[1]!.release()
    expect(await next).toEqual(["out:b0"])
    await batcher.whenIdle()
  })

  test("with a batch running and a slot free, a lone row waits for company at most maxWait", async () => {
    const { batcher, batches, gates } = harness({ concurrency: 2, maxWaitMs: 20 })
    const first = batcher.submit(rows("a", 5))
    const second = batcher.submit(rows("b", 5))
    // A slot is free, but a batch is running: b waits for more rows rather than running alone at once.
    expect(batches).toEqual([["a0"]])
    const third = batcher.submit(rows("c", 5))
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(batches).toEqual([["a0"], ["b0", "c0"]])
    for (const gate of gates) gate.release()
    expect(await Promise.all([first, second, third])).toEqual([["out:a0"], ["out:b0"], ["out:c0"]])
  })
})
