// sha256 of files, read in large chunks so multi-GB model weights hash at disk speed without
// being held in memory.
import { createHash } from "node:crypto"
import { closeSync, openSync, readSync } from "node:fs"

const CHUNK = 8 * 1024 * 1024
let buffer: Buffer | undefined

export const sha256File = (path: string): string => {
  buffer ??= Buffer.allocUnsafe(CHUNK)
  const hash = createHash("sha256")
  const fd = openSync(path, "r")
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK, null)
      if (n === 0) break
      hash.update(n === CHUNK ? buffer : buffer.subarray(0, n))
    }
  } finally {
    closeSync(fd)
  }
  return hash.digest("hex")
}
