// Reads a request's JSON body within limits: refuses a declared or actual size over the limit
// without buffering it, stops at the request's deadline (a client trickling bytes), and rejects
// invalid UTF-8 and malformed JSON with a 4xx naming the body.
import { HttpError } from "./errors.ts"

const utf8 = new TextDecoder("utf-8", { fatal: true })

const tooLarge = (limit: number): HttpError => new HttpError(413, "too-large", `body: larger than the ${limit}-byte limit (--max-body-bytes)`, "body")

export const readJsonBody = async (request: Request, limit: number, signal: AbortSignal): Promise<unknown> => {
  const declared = request.headers.get("content-length")
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit)
  const type = request.headers.get("content-type")
  if (type !== null && !/^application\/(json|[\w.+-]+\+json)\b/i.test(type.trim()) && !/^text\/plain\b/i.test(type.trim())) {
    throw new HttpError(415, "validation", `body: content-type "${type}" is not JSON; send application/json`, "body")
  }
  if (request.body === null) throw new HttpError(400, "validation", "body: empty; expected a JSON object", "body")
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  const onAbort = (): void => void reader.cancel().catch(() => {})
  signal.addEventListener("abort", onAbort, { once: true })
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (signal.aborted) throw signal.reason
      if (done) break
      size += value.byteLength
      if (size > limit) throw tooLarge(limit)
      chunks.push(value)
    }
  } catch (cause) {
    if (cause instanceof HttpError) throw cause
    if (signal.aborted) throw signal.reason
    throw new HttpError(400, "validation", `body: could not be read (${cause instanceof Error ? cause.message : String(cause)})`, "body")
  } finally {
    signal.removeEventListener("abort", onAbort)
    void reader.cancel().catch(() => {})
  }
  if (size === 0) throw new HttpError(400, "validation", "body: empty; expected a JSON object", "body")
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    throw new HttpError(400, "validation", `body: not valid UTF-8 (at byte ${firstInvalidUtf8(bytes)})`, "body")
  }
  try {
    return JSON.parse(text)
  } catch (cause) {
    throw new HttpError(400, "validation", `body: malformed JSON (${cause instanceof Error ? cause.message : String(cause)})`, "body")
  }
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence, for the message. */
const firstInvalidUtf8 = (bytes: Uint8Array): number => {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!
    const need = b < 0x80 ? 0 : b >= 0xc2 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf5 ? 3 : -1
    if (need < 0) return i
    for (let k = 1; k <= need; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return i
    try {
      utf8.decode(bytes.subarray(i, i + need + 1))
    } catch {
      return i
    }
    i += need + 1
  }
  return bytes.length
}
