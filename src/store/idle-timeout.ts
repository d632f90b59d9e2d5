// A download body that fails when no chunk arrives for a while, so a stalled server costs a
// timeout and a local build instead of a hung run. Shared by the remote stores.
export const withIdleTimeout = (body: ReadableStream<Uint8Array>, ms: number, what: string): ReadableStream<Uint8Array> => {
  const reader = body.getReader()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no data for ${ms} ms`)), ms)
      })
      try {
        const chunk = await Promise.race([reader.read(), stalled])
        if (chunk.done) controller.close()
        else controller.enqueue(chunk.value)
      } catch (error) {
        await reader.cancel().catch(() => undefined)
        controller.error(error)
      } finally {
        clearTimeout(timer)
      }
    },
    cancel: (reason) => reader.cancel(reason),
  })
}
