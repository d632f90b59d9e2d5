// Streaming safetensors writer: the header is computed from names, dtypes and shapes alone,
// then each tensor's values are produced, converted and written one tensor (or piece) at a time.
import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs"
import { basename, dirname, join } from "node:path"
import { bytesPerElement, elementCount } from "../tensor/index.ts"
import { encodeFloat32Blocks } from "./float-codec.ts"
import { dtypeToSafetensors } from "./safetensors-dtype.ts"
import { type TensorSource, tensorSourcePieces, validateTensorSources } from "./tensor-source.ts"

export interface SafetensorsWriteOptions {
  /** String metadata stored under `__metadata__`; `format: "pt"` is always set (transformers checks it). */
  readonly metadata?: Readonly<Record<string, string>>
}

/**
 * Writes `sources` to `path` (via a temporary file and rename).
 *
 * Order: the header lists tensors, and the data section holds them, in the given order except
 * that wider dtypes come first (a stable sort by element size, as the reference implementation
 * does), so every tensor starts at a multiple of its element size. Output is deterministic.
 */
export const writeSafetensors = (
  path: string,
  sources: readonly TensorSource[],
  options: SafetensorsWriteOptions = {},
): void => {
  validateTensorSources(path, sources)
  const ordered = sources
    .map((source, index) => ({ source, index }))
    .sort((a, b) => bytesPerElement[b.source.dtype] - bytesPerElement[a.source.dtype] || a.index - b.index)
    .map(({ source }) => source)

  const header: Record<string, unknown> = { __metadata__: { ...options.metadata, format: "pt" } }
  let offset = 0
  for (const source of ordered) {
    const length = elementCount(source.shape) * bytesPerElement[source.dtype]
    header[source.name] = { dtype: dtypeToSafetensors[source.dtype], shape: [...source.shape], data_offsets: [offset, offset + length] }
    offset += length
  }
  // Pad with spaces so the data section starts 8-byte aligned.
  const jsonBytes = new TextEncoder().encode(JSON.stringify(header))
  const padded = new Uint8Array(Math.ceil(jsonBytes.length / 8) * 8).fill(0x20)
  padded.set(jsonBytes)

  const prefix = new Uint8Array(8)
  new DataView(prefix.buffer).setBigUint64(0, BigInt(padded.length), true)

  const tempPath = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`)
  const fd = openSync(tempPath, "w")
  try {
    writeAll(fd, prefix)
    writeAll(fd, padded)
    for (const source of ordered) {
      for (const piece of tensorSourcePieces(path, source)) for (const block of encodeFloat32Blocks(piece, source.dtype)) writeAll(fd, block)
    }
    closeSync(fd)
    renameSync(tempPath, path)
  } catch (error) {
    try {
      closeSync(fd)
    } catch {
      // already closed
    }
    rmSync(tempPath, { force: true })
    throw error
  }
}

const writeAll = (fd: number, bytes: Uint8Array): void => {
  let done = 0
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, Math.min(bytes.byteLength - done, 1 << 30))
}
