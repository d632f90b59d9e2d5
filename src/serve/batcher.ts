// Dynamic batching across concurrent requests: rows from every request wait in one bounded queue
// and leave it in batches bounded by a token budget (rows × longest row, what the padded batch
// costs), grouped by length so short and long texts do not pad each other. Results go back to the
// request that sent each row, in its order.
//
// When a batch starts: as soon as a run slot is free and either nothing is running (an idle server
// answers a lone request at once), the queue already holds a full budget, or the oldest row has
// waited `maxWaitMs`. While every slot is busy the queue fills, so load itself makes the batches.

export interface BatcherOptions {
  /** Upper bound on a batch's padded size: rows × longest row, in tokens (a longer row runs alone). */
  readonly maxBatchTokens: number
  /** How long the oldest queued row may wait for a fuller batch while another batch runs. */
  readonly maxWaitMs: number
  /** Rows that may wait at once; a request that does not fit is refused (QueueFullError). */
  readonly maxQueueRows: number
  /** Batches running at once (the session pool's instances). */
  readonly concurrency: number
}

/** A batch as it ran, for metrics. */
export interface BatchStats {
  readonly rows: number
  /** Real tokens in the batch. */
  readonly tokens: number
  /** rows × longest row. */
  readonly paddedTokens: number
  /** How long its oldest row waited, in ms. */
  readonly waitedMs: number
}

export class QueueFullError extends Error {
  override readonly name = "QueueFullError"
  readonly _tag = "QueueFullError"
  constructor(
    readonly queuedRows: number,
    /** Seconds until the queue has likely drained enough, for Retry-After. */
    readonly retryAfterSeconds: number,
  ) {
    super(`the queue is full (${queuedRows} rows waiting); retry in ${retryAfterSeconds} s`)
  }
}

interface Pending<Out> {
  readonly results: Out[]
  remaining: number
  settled: boolean
  readonly resolve: (results: Out[]) => void
  readonly reject: (error: unknown) => void
}

interface Queued<Row, Out> {
  readonly row: Row
  readonly length: number
  readonly index: number
  readonly enqueuedAt: number
  readonly owner: Pending<Out>
}

/** What the server watches of a batcher, whatever its rows and results. */
export interface BatchQueue {
  /** Rows waiting to run. */
  readonly depth: number
  /** Batches running now. */
  readonly active: number
  /** Resolves once nothing is queued or running (for a graceful shutdown). */
  whenIdle(): Promise<void>
}

export class Batcher<Row, Out> implements BatchQueue {
  private queue: Queued<Row, Out>[] = []
  private queuedTokens = 0
  private running = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  private idleWaiters: (() => void)[] = []
  /** Recent throughput in real tokens per second (moving average), for Retry-After. */
  private tokensPerSecond = 0

  constructor(
    private readonly options: BatcherOptions,
    /** Runs one batch; returns one result per row, in the order given. */
    private readonly run: (rows: readonly Row[]) => Promise<readonly Out[]>,
    /** Token count of a row (its padded cost is the batch's longest row). */
    private readonly lengthOf: (row: Row) => number,
    private readonly onBatch: (stats: BatchStats) => void = () => {},
  ) {}

  /** Rows waiting to run. */
  get depth(): number {
    return this.queue.length
  }

  /** Batches running now. */
  get active(): number {
    return this.running
  }

  /**
   * Queues `rows` and resolves with their results in order. Throws QueueFullError at once when they
   * do not fit; `signal` aborting takes the request's waiting rows out of the queue and rejects with
   * its reason (rows already running finish, their results are dropped).
   */
  submit(rows: readonly Row[], signal?: AbortSignal): Promise<Out[]> {
    if (rows.length === 0) return Promise.resolve([])
    if (signal?.aborted) return Promise.reject(signal.reason)
    if (this.queue.length + rows.length > this.options.maxQueueRows) {
      throw new QueueFullError(this.queue.length, this.retryAfterSeconds())
    }
    return new Promise<Out[]>((resolve, reject) => {
      const owner: Pending<Out> = { results: new Array<Out>(rows.length), remaining: rows.length, settled: false, resolve, reject }
      const now = performance.now()
      rows.forEach((row, index) => {
        const length = this.lengthOf(row)
        this.queue.push({ row, length, index, enqueuedAt: now, owner })
        this.queuedTokens += length
      })
      if (signal !== undefined) {
        const onAbort = (): void => this.cancel(owner, signal.reason)
        signal.addEventListener("abort", onAbort, { once: true })
        const settle = (): void => signal.removeEventListener("abort", onAbort)
        const { resolve: done, reject: fail } = owner
        Object.assign(owner, {
          resolve: (results: Out[]) => (settle(), done(results)),
          reject: (error: unknown) => (settle(), fail(error)),
        })
      }
      this.pump()
    })
  }

  /** Resolves once nothing is queued or running (for a graceful shutdown). */
  whenIdle(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private retryAfterSeconds(): number {
    if (this.tokensPerSecond <= 0) return 1
    return Math.max(1, Math.ceil(this.queuedTokens / this.tokensPerSecond))
  }

  private cancel(owner: Pending<Out>, reason: unknown): void {
    if (owner.settled) return
    owner.settled = true
    const kept: Queued<Row, Out>[] = []
    for (const item of this.queue) {
      if (item.owner === owner) this.queuedTokens -= item.length
      else kept.push(item)
    }
    this.queue = kept
    owner.reject(reason)
    this.notifyIdle()
  }

  private pump(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    while (this.running < this.options.concurrency && this.queue.length > 0) {
      const oldest = this.queue[0]!
      const waited = performance.now() - oldest.enqueuedAt
      const ready = this.running === 0 || this.queuedTokens >= this.options.maxBatchTokens || waited >= this.options.maxWaitMs
      if (!ready) {
        this.timer = setTimeout(() => this.pump(), Math.max(0, this.options.maxWaitMs - waited))
        return
      }
      this.start(this.take())
    }
  }

  /**
   * The oldest row (so none starves) and the queued rows closest to it in length, while the padded
   * batch stays within the budget.
   */
  private take(): Queued<Row, Out>[] {
    const oldest = this.queue[0]!
    const byCloseness = this.queue.slice(1).sort((a, b) => Math.abs(a.length - oldest.length) - Math.abs(b.length - oldest.length) || a.enqueuedAt - b.enqueuedAt)
    const batch = [oldest]
    let longest = oldest.length
    for (const item of byCloseness) {
      const nextLongest = Math.max(longest, item.length)
      if ((batch.length + 1) * nextLongest > this.options.maxBatchTokens) {
        // A longer row would raise everyone's padding; a shorter one further down may still fit.
        if (item.length > longest) continue
        break
      }
      batch.push(item)
      longest = nextLongest
    }
    const taken = new Set(batch)
    this.queue = this.queue.filter((item) => !taken.has(item))
    for (const item of batch) this.queuedTokens -= item.length
    return batch
  }

  private start(batch: Queued<Row, Out>[]): void {
    this.running++
    const started = performance.now()
    const tokens = batch.reduce((sum, item) => sum + item.length, 0)
    const longest = batch.reduce((max, item) => Math.max(max, item.length), 0)
    this.onBatch({ rows: batch.length, tokens, paddedTokens: longest * batch.length, waitedMs: started - batch[0]!.enqueuedAt })
    const finish = (): void => {
      this.running--
      const seconds = (performance.now() - started) / 1000
      if (seconds > 0) this.tokensPerSecond = this.tokensPerSecond === 0 ? tokens / seconds : 0.8 * this.tokensPerSecond + 0.2 * (tokens / seconds)
      this.pump()
      this.notifyIdle()
    }
    this.run(batch.map((item) => item.row)).then(
      (results) => {
        batch.forEach((item, i) => {
          const owner = item.owner
          if (owner.settled) return
          owner.results[item.index] = results[i] as Out
          if (--owner.remaining === 0) {
            owner.settled = true
            owner.resolve(owner.results)
          }
        })
        finish()
      },
      (error: unknown) => {
        for (const item of batch) {
          if (item.owner.settled) continue
          // The rest of a failed request's rows will not be needed.
          this.cancel(item.owner, error)
        }
        finish()
      },
    )
  }

  private notifyIdle(): void {
    if (this.queue.length > 0 || this.running > 0) return
    for (const resolve of this.idleWaiters.splice(0)) resolve()
  }
}
