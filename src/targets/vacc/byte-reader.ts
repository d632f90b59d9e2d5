// Reads exact byte counts from a stream of chunks (a child's stdout) for the runner protocol:
// `read(n)` resolves when n bytes have arrived, and rejects once the stream has ended short.
export class ByteReader {
  private chunks: Uint8Array[] = []
  private size = 0
  private waiter: { readonly n: number; readonly resolve: (bytes: Uint8Array) => void; readonly reject: (error: unknown) => void } | undefined
  private ended: (() => unknown) | undefined

  push(chunk: Uint8Array): void {
    this.chunks.push(chunk)
    this.size += chunk.length
    this.settle()
  }

  /** The stream is over: pending and later reads fail with `error()`. */
  end(error: () => unknown): void {
    this.ended = error
    this.settle()
  }

  read(n: number): Promise<Uint8Array> {
    if (this.waiter !== undefined) return Promise.reject(new Error("ByteReader: one read at a time"))
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject }
      this.settle()
    })
  }

  private settle(): void {
    const w = this.waiter
    if (w === undefined) return
    if (this.size >= w.n) {
      this.waiter = undefined
      w.resolve(this.take(w.n))
    } else if (this.ended !== undefined) {
      this.waiter = undefined
      w.reject(this.ended())
    }
  }

  private take(n: number): Uint8Array {
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const head = this.chunks[0]!
      const need = n - filled
      if (head.length <= need) {
        out.set(head, filled)
        filled += head.length
        this.chunks.shift()
      } else {
        out.set(head.subarray(0, need), filled)
        this.chunks[0] = head.subarray(need)
        filled += need
      }
    }
    this.size -= n
    return out
  }
}

/** The last `limit` bytes of a stream, as text (a crashed child's stderr). */
export class TailBuffer {
  private bytes = new Uint8Array(0)
  constructor(private readonly limit = 4096) {}
  push(chunk: Uint8Array): void {
    const joined = new Uint8Array(this.bytes.length + chunk.length)
    joined.set(this.bytes)
    joined.set(chunk, this.bytes.length)
    this.bytes = joined.length > this.limit ? joined.slice(joined.length - this.limit) : joined
  }
  text(lines = 12): string {
    return new TextDecoder().decode(this.bytes).trimEnd().split("\n").slice(-lines).join("\n")
  }
}
