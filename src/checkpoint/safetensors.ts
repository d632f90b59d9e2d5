// safetensors reader for single files and sharded checkpoints (model.safetensors.index.json).
// The header is validated up front; tensor data is read on demand by positional reads into a fresh
// buffer or the caller's (readFloat32Into), so misaligned offsets are fine and the file never is in memory.
import { z } from "zod"
import { describeIssues } from "../schema/index.ts"
import { bytesPerElement, type DType, elementCount, type LazyTensor } from "../tensor/index.ts"
import { RandomAccessFile, ShortReadError } from "../zip/index.ts"
import { CheckpointError } from "./errors.ts"
import { decodeToFloat32 } from "./float-codec.ts"
import { checkRange, readElementsInto } from "./range-read.ts"
import { safetensorsToDType } from "./safetensors-dtype.ts"
import { readShardedIndex, type TensorCollection } from "./sharded-index.ts"
import { checkTensorName } from "./tensor-name.ts"

/** Headers beyond this are refused before any allocation (real ones are a few hundred KB). */
export const MAX_SAFETENSORS_HEADER_BYTES = 100 * 1024 * 1024

export interface SafetensorsFile extends TensorCollection {
  readonly path: string
  readonly metadata: Readonly<Record<string, string>>
}

const tensorInfoSchema = z.object({
  dtype: z.string(),
  shape: z.array(z.int().nonnegative()),
  data_offsets: z.tuple([z.int().nonnegative(), z.int().nonnegative()]),
})
const metadataSchema = z.record(z.string(), z.string())


interface TensorSpan {
  readonly name: string
  readonly dtype: DType
  readonly shape: readonly number[]
  readonly begin: number
  readonly end: number
}

const parseHeader = (path: string, header: unknown, dataLength: number): { spans: TensorSpan[]; metadata: Record<string, string> } => {
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new CheckpointError("InvalidHeader", path, "the safetensors header is not a JSON object")
  }
  let metadata: Record<string, string> = {}
  const spans: TensorSpan[] = []
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") {
      const parsed = z.object({ __metadata__: metadataSchema }).safeParse({ __metadata__: value })
      if (!parsed.success) {
        throw new CheckpointError("InvalidHeader", path, describeIssues(parsed.error, { __metadata__: value }, { schema: z.object({ __metadata__: metadataSchema }) }))
      }
      metadata = parsed.data.__metadata__
      continue
    }
    checkTensorName(path, name)
    const parsed = tensorInfoSchema.safeParse(value)
    if (!parsed.success) {
      throw new CheckpointError(
        "InvalidHeader",
        path,
        describeIssues(parsed.error, value, { schema: tensorInfoSchema, rootName: "the entry (expected {dtype, shape, data_offsets})" }),
        { tensor: name },
      )
    }
    const info = parsed.data
    const dtype = safetensorsToDType[info.dtype]
    if (dtype === undefined) {
      throw new CheckpointError(
        "UnsupportedDType",
        path,
        `dtype "${info.dtype}" is not supported (expected one of ${Object.keys(safetensorsToDType).join(", ")})`,
        { tensor: name },
      )
    }
    const [begin, end] = info.data_offsets
    if (begin > end) throw new CheckpointError("InvalidTensor", path, `data_offsets [${begin}, ${end}] end before they begin`, { tensor: name })
    if (end > dataLength) {
      throw new CheckpointError(
        "Truncated",
        path,
        `data_offsets [${begin}, ${end}] are out of range: the data section holds only ${dataLength} bytes (file truncated or header wrong)`,
        { tensor: name },
      )
    }
    const expected = elementCount(info.shape) * bytesPerElement[dtype]
    if (end - begin !== expected) {
      throw new CheckpointError(
        "InvalidTensor",
        path,
        `shape [${info.shape.join(", ")}] of ${info.dtype} needs ${expected} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
        { tensor: name },
      )
    }
    spans.push({ name, dtype, shape: info.shape, begin, end })
  }
  const byOffset = spans.filter((span) => span.end > span.begin).sort((a, b) => a.begin - b.begin)
  for (let i = 1; i < byOffset.length; i++) {
    const previous = byOffset[i - 1]!
    const current = byOffset[i]!
    if (current.begin < previous.end) {
      throw new CheckpointError(
        "InvalidTensor",
        path,
        `data_offsets [${current.begin}, ${current.end}] overlap those of "${previous.name}" [${previous.begin}, ${previous.end}]`,
        { tensor: current.name },
      )
    }
  }
  return { spans, metadata }
}

/** A lazy tensor reading its byte range at `position` of `file` and decoding it. */
const fileRangeTensor = (path: string, file: RandomAccessFile, span: TensorSpan, position: number): LazyTensor => {
  /** Fills `into` from `byteOffset` within the tensor's range, with errors naming the tensor. */
  const readBytes = (byteOffset: number, into: Uint8Array): void => {
    if (!file.isOpen) throw new CheckpointError("Closed", path, "the checkpoint was closed before this tensor was read", { tensor: span.name })
    try {
      file.readInto(position + byteOffset, into)
    } catch (error) {
      if (error instanceof ShortReadError) throw new CheckpointError("Truncated", path, error.message, { tensor: span.name })
      throw error
    }
  }
  const tensor: LazyTensor = {
    name: span.name,
    dtype: span.dtype,
    shape: span.shape,
    readFloat32: () => {
      // A fresh buffer is aligned for any element type whatever the offset in the file.
      const buffer = new ArrayBuffer(span.end - span.begin)
      readBytes(0, new Uint8Array(buffer))
      return decodeToFloat32(buffer, span.dtype, elementCount(span.shape))
    },
    readFloat32Into: (target, start = 0) => {
      checkRange(path, tensor, start, target.length)
      readElementsInto(readBytes, span.dtype, start, target)
    },
  }
  return tensor
}

/** Opens one .safetensors file and validates its header; tensors are read lazily. */
export const readSafetensors = (path: string): SafetensorsFile => {
  let file: RandomAccessFile
  try {
    file = RandomAccessFile.open(path)
  } catch (error) {
    throw new CheckpointError("NotFound", path, `cannot open the safetensors file (${(error as Error).message})`)
  }
  try {
    if (file.size < 8) throw new CheckpointError("Truncated", path, `the file is ${file.size} bytes, too short for the 8-byte header length`)
    const headerLength = new DataView(file.read(0, 8).buffer).getBigUint64(0, true)
    if (headerLength > BigInt(MAX_SAFETENSORS_HEADER_BYTES)) {
      throw new CheckpointError(
        "InvalidHeader",
        path,
        `header length ${headerLength} is absurd (limit ${MAX_SAFETENSORS_HEADER_BYTES} bytes): not a safetensors file or corrupt`,
      )
    }
    if (headerLength > BigInt(file.size - 8)) {
      throw new CheckpointError("Truncated", path, `header length ${headerLength} exceeds the ${file.size - 8} bytes after the length field`)
    }
    const dataStart = 8 + Number(headerLength)
    let header: unknown
    try {
      header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(file.read(8, Number(headerLength))))
    } catch (error) {
      throw new CheckpointError("InvalidHeader", path, `the header is not valid UTF-8 JSON (${(error as Error).message})`)
    }
    const { spans, metadata } = parseHeader(path, header, file.size - dataStart)
    const tensors = new Map<string, LazyTensor>()
    for (const span of spans) tensors.set(span.name, fileRangeTensor(path, file, span, dataStart + span.begin))
    return { path, metadata, tensors, close: () => file.close() }
  } catch (error) {
    file.close()
    throw error
  }
}

/**
 * Opens a sharded checkpoint from its index (model.safetensors.index.json): every shard in
 * weight_map is opened once; tensors appear in weight_map order.
 */
export const readShardedSafetensors = (indexPath: string): TensorCollection => readShardedIndex(indexPath, readSafetensors)
