// Writes a model to disk: the .onnx protobuf, and for big models an external data file that
// initializers are streamed into one at a time. Both go to temp files in the target directory
// and are renamed into place, data first, so a model never points at missing data.
import { randomBytes } from "node:crypto"
import { type FileHandle, mkdir, open, rename, rm } from "node:fs/promises"
import { basename, dirname, join } from "node:path"
import { externalTensorMsg, graphMsg, modelHeaderMsg, tensorHeaderMsg } from "./encode.ts"
import { OnnxWriteError } from "./errors.ts"
import type { OnnxModel, OnnxTensor } from "./model.ts"
import { checkedChunks, expectedByteLength, readTensorBytes } from "./tensor-data.ts"
import { encodeGraphProtoHead, encodeModelProtoHead, encodeTensorProtoHead, lengthDelimitedHeader } from "./wire.ts"

/** protobuf refuses messages of 2 GiB or more. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1
/**
 * "auto" moves initializers out when their total exceeds this: 2 GiB minus 128 MiB of headroom
 * for the graph structure itself.
 */
export const DEFAULT_EXTERNAL_DATA_THRESHOLD = 2 ** 31 - 2 ** 27
/**
 * Each external tensor starts at a multiple of this. 4096 is the page size: ORT (or any reader)
 * can mmap a tensor in place and gets storage aligned for any SIMD load, for at most 4 KiB of
 * padding per tensor (under 1 MB for a BERT-base).
 */
export const DEFAULT_EXTERNAL_ALIGNMENT = 4096
/** In external mode, tensors smaller than this stay inline (shape constants stay readable). */
export const DEFAULT_EXTERNAL_MIN_BYTES = 1024

export interface WriteModelOptions {
  /** "auto" (default): external when initializer bytes exceed `externalDataThreshold`. */
  readonly externalData?: "auto" | "always" | "never"
  /** Name of the data file beside the model; default `<model file name>_data`. A bare file name. */
  readonly dataFileName?: string
  readonly externalDataThreshold?: number
  readonly externalMinBytes?: number
  readonly alignment?: number
}

export interface WrittenModel {
  readonly modelPath: string
  /** Undefined when every initializer stayed inline. */
  readonly dataPath: string | undefined
  readonly modelBytes: number
  readonly dataBytes: number
  readonly externalTensors: number
}

interface Placement {
  readonly tensor: OnnxTensor
  readonly length: number
  /** Offset in the data file, or undefined when inline. */
  readonly offset: number | undefined
  readonly head: Uint8Array
}

/**
 * Writes `model` to `target`: a path ending in `.onnx`, or a directory (then `model.onnx` in it).
 * Output bytes depend only on the model and options. Thunk and chunked initializers are called
 * once each, as they are written, and dropped afterwards; a chunk is written before the next is
 * asked for, so a producer may hand out one reused buffer.
 */
export const writeModel = async (model: OnnxModel, target: string, options: WriteModelOptions = {}): Promise<WrittenModel> => {
  const modelPath = target.endsWith(".onnx") ? target : join(target, "model.onnx")
  const dir = dirname(modelPath)
  const dataFileName = options.dataFileName ?? `${basename(modelPath)}_data`
  if (dataFileName === "" || dataFileName === "." || dataFileName === ".." || /[\\/]/.test(dataFileName))
    throw new OnnxWriteError(`dataFileName ${JSON.stringify(dataFileName)} must be a bare file name (it is stored relative to the model)`, modelPath)
  const dataPath = join(dir, dataFileName)
  const mode = options.externalData ?? "auto"
  const alignment = options.alignment ?? DEFAULT_EXTERNAL_ALIGNMENT
  if (!Number.isSafeInteger(alignment) || alignment < 1) throw new OnnxWriteError(`alignment must be a positive integer, got ${alignment}`, modelPath)
  const minBytes = options.externalMinBytes ?? DEFAULT_EXTERNAL_MIN_BYTES

  const lengths = model.graph.initializers.map((t) => {
    try {
      return expectedByteLength(t)
    } catch (cause) {
      throw new OnnxWriteError(`cannot write ${modelPath}: ${(cause as Error).message}`, modelPath, { cause })
    }
  })
  const total = lengths.reduce((a, b) => a + b, 0)
  const external = mode === "always" || (mode === "auto" && total > (options.externalDataThreshold ?? DEFAULT_EXTERNAL_DATA_THRESHOLD))

  // Lay out the data file first: offsets go into the tensor headers, whose sizes fix the proto layout.
  let dataEnd = 0
  const placements: Placement[] = model.graph.initializers.map((tensor, i) => {
    const length = lengths[i]!
    if (external && length >= minBytes) {
      const offset = Math.ceil(dataEnd / alignment) * alignment
      dataEnd = offset + length
      return { tensor, length, offset, head: encodeTensorProtoHead(externalTensorMsg(tensor, dataFileName, offset, length)) }
    }
    return { tensor, length, offset: undefined, head: encodeTensorProtoHead(tensorHeaderMsg(tensor)) }
  })
  const externalCount = placements.filter((p) => p.offset !== undefined).length

  const modelHead = encodeModelProtoHead(modelHeaderMsg(model))
  const graphHead = encodeGraphProtoHead(graphMsg(model.graph, false))
  const entryHeads = placements.map((p) => {
    const rawHeader = p.offset === undefined ? lengthDelimitedHeader(9, p.length) : new Uint8Array(0)
    const tensorLength = p.head.byteLength + rawHeader.byteLength + (p.offset === undefined ? p.length : 0)
    return { entry: lengthDelimitedHeader(5, tensorLength), rawHeader, tensorLength }
  })
  const graphLength = graphHead.byteLength + entryHeads.reduce((a, e) => a + e.entry.byteLength + e.tensorLength, 0)
  const graphHeader = lengthDelimitedHeader(7, graphLength)
  const modelBytes = modelHead.byteLength + graphHeader.byteLength + graphLength
  if (modelBytes > PROTOBUF_LIMIT)
    throw new OnnxWriteError(
      `${modelPath} would be ${modelBytes} bytes, over protobuf's 2 GiB limit; write with externalData: "auto" or "always"` +
        (mode === "auto" ? " and a lower externalDataThreshold" : ""),
      modelPath,
    )

  await mkdir(dir, { recursive: true })
  const suffix = `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`
  const modelTemp = join(dir, `.${basename(modelPath)}${suffix}`)
  const dataTemp = join(dir, `.${dataFileName}${suffix}`)
  try {
    if (externalCount > 0) {
      await withSink(dataTemp, async (sink) => {
        for (const p of placements) {
          if (p.offset === undefined) continue
          await sink.write(new Uint8Array(p.offset - sink.position))
          await writeTensorData(sink, p, modelPath)
        }
      })
    }
    await withSink(modelTemp, async (sink) => {
      await sink.write(modelHead)
      await sink.write(graphHeader)
      await sink.write(graphHead)
      for (const [i, p] of placements.entries()) {
        const e = entryHeads[i]!
        await sink.write(e.entry)
        await sink.write(p.head)
        if (p.offset === undefined) {
          await sink.write(e.rawHeader)
          await writeTensorData(sink, p, modelPath)
        }
      }
      if (sink.position !== modelBytes) throw new OnnxWriteError(`internal error: wrote ${sink.position} bytes, planned ${modelBytes}`, modelPath)
    })
    if (externalCount > 0) await rename(dataTemp, dataPath)
    await rename(modelTemp, modelPath)
  } catch (cause) {
    await rm(modelTemp, { force: true })
    await rm(dataTemp, { force: true })
    if (cause instanceof OnnxWriteError) throw cause
    throw new OnnxWriteError(`writing ${modelPath} failed: ${(cause as Error).message}`, modelPath, { cause })
  }
  return { modelPath, dataPath: externalCount > 0 ? dataPath : undefined, modelBytes, dataBytes: dataEnd, externalTensors: externalCount }
}

/** Writes one tensor's bytes: whole, or chunk by chunk (each written before the next is asked for). */
const writeTensorData = async (sink: Sink, p: Placement, modelPath: string): Promise<void> => {
  const data = p.tensor.data
  if (data.kind !== "chunks") {
    await sink.write(tensorBytes(p, modelPath))
    return
  }
  const chunks = checkedChunks(p.tensor.name, data)
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>
      try {
        next = chunks.next()
      } catch (cause) {
        throw new OnnxWriteError(`initializer "${p.tensor.name}": could not get its data: ${(cause as Error).message}`, modelPath, { cause })
      }
      if (next.done === true) return
      await sink.write(next.value)
    }
  } finally {
    chunks.return(undefined)
  }
}

/** Loads one tensor's bytes (calling a thunk now) and checks them against dtype × dims. */
const tensorBytes = (p: Placement, modelPath: string): Uint8Array => {
  let bytes: Uint8Array
  try {
    bytes = readTensorBytes(p.tensor)
  } catch (cause) {
    throw new OnnxWriteError(`initializer "${p.tensor.name}": could not get its data: ${(cause as Error).message}`, modelPath, { cause })
  }
  if (bytes.byteLength !== p.length)
    throw new OnnxWriteError(
      `initializer "${p.tensor.name}" is ${p.tensor.dtype}[${p.tensor.dims.join(", ")}] = ${p.length} bytes, but its data has ${bytes.byteLength}`,
      modelPath,
    )
  return bytes
}

/** A sequential file writer that batches small pieces and hands large ones straight to the OS. */
class Sink {
  position = 0
  private pending: Uint8Array[] = []
  private pendingBytes = 0
  constructor(private readonly handle: FileHandle) {}

  async write(bytes: Uint8Array): Promise<void> {
    if (bytes.byteLength === 0) return
    this.position += bytes.byteLength
    if (bytes.byteLength >= Sink.BATCH) {
      await this.flush()
      await this.writeAll(bytes)
      return
    }
    this.pending.push(bytes.slice())
    this.pendingBytes += bytes.byteLength
    if (this.pendingBytes >= Sink.BATCH) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return
    const joined = Buffer.concat(this.pending, this.pendingBytes)
    this.pending = []
    this.pendingBytes = 0
    await this.writeAll(joined)
  }

  private async writeAll(bytes: Uint8Array): Promise<void> {
    let done = 0
    while (done < bytes.byteLength) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.byteLength - done)
      done += bytesWritten
    }
  }

  static readonly BATCH = 1 << 20
}

const withSink = async (path: string, body: (sink: Sink) => Promise<void>): Promise<void> => {
  const handle = await open(path, "w")
  try {
    const sink = new Sink(handle)
    await body(sink)
    await sink.flush()
    await handle.sync()
  } finally {
    await handle.close()
  }
}
