// What every benchmark measures with: the median of its runs and the plain-copy peer that the
// export, preset and pipeline benchmarks compare a step's wall time against.
import { closeSync, fsyncSync, openSync, readSync, writeSync } from "node:fs"

/** The median; for an even count, the mean of the middle two. */
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** A plain user-space copy (16 MiB reads and writes, fsync at the end, as the ONNX writer does), in ms. */
export const plainCopy = (from: string, to: string): number => {
  const started = performance.now()
  const input = openSync(from, "r")
  const output = openSync(to, "w")
  const buffer = Buffer.allocUnsafe(16 << 20)
  for (;;) {
    const n = readSync(input, buffer, 0, buffer.length, null)
    if (n === 0) break
    let done = 0
    while (done < n) done += writeSync(output, buffer, done, n - done)
  }
  fsyncSync(output)
  closeSync(input)
  closeSync(output)
  return performance.now() - started
}
