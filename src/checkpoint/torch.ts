// Reader for torch.save zip checkpoints (pytorch_model.bin, *.pt): data.pkl goes through the safe
// unpickler; each tensor reads its storage range lazily from `<archive>/data/<key>` (offsets honoured,
// strided views gathered to row-major; contiguous ones can stream ranges into a caller's buffer).
import { closeSync, openSync, readSync } from "node:fs"
import { bytesPerElement, elementCount, type LazyTensor } from "../tensor/index.ts"
import { ZipError, ZipReader } from "../zip/index.ts"
import { CheckpointError } from "./errors.ts"
import { decodeToFloat32 } from "./float-codec.ts"
import { checkRange, readElementsInto } from "./range-read.ts"
import { type PickleValue, type TensorRef, unpickleTorch } from "./pickle.ts"
import type { TensorCollection } from "./sharded-index.ts"
import { checkStorageKey, checkTensorName } from "./tensor-name.ts"

/** Row-major strides of `shape` (dims of size 1 may have any stride, see `isContiguous`). */
const rowMajorStrides = (shape: readonly number[]): number[] => {
  const strides = new Array<number>(shape.length)
  let stride = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride
    stride *= shape[i]!
  }
  return strides
}

const isContiguous = (size: readonly number[], stride: readonly number[]): boolean => {
  const expected = rowMajorStrides(size)
  return size.every((dim, i) => dim <= 1 || stride[i] === expected[i])
}

/** Copies the strided view of `span` (which starts at element `base`) into a row-major array. */
export const gatherStrided = (
  span: Float32Array,
  base: number,
  size: readonly number[],
  stride: readonly number[],
): Float32Array => {
  const count = elementCount(size)
  const out = new Float32Array(count)
  if (count === 0) return out
  const rank = size.length
  const index = new Array<number>(rank).fill(0)
  let source = base
  for (let i = 0; i < count; i++) {
    out[i] = span[source]!
    // Odometer increment over the dims, last dim fastest.
    for (let d = rank - 1; d >= 0; d--) {
      index[d]!++
      source += stride[d]!
      if (index[d]! < size[d]!) break
      source -= stride[d]! * size[d]!
      index[d] = 0
    }
  }
  return out
}

const isTensorRef = (value: PickleValue): value is TensorRef =>
  typeof value === "object" && value !== null && "kind" in value && value.kind === "tensor"

/** Throws a clear error for a pre-1.6 torch file, which is a bare pickle stream rather than a zip. */
const explainNonZip = (path: string, error: ZipError): never => {
  let head = new Uint8Array(0)
  try {
    const fd = openSync(path, "r")
    head = new Uint8Array(2)
    readSync(fd, head, 0, 2, 0)
    closeSync(fd)
  } catch {
    // fall through to the zip error
  }
  if (head[0] === 0x80 && head[1] !== undefined && head[1] <= 5) {
    throw new CheckpointError(
      "InvalidPickle",
      path,
      "this is a legacy (pre-1.6, non-zip) torch file, which kiln does not read; re-save it with a current torch or as safetensors",
    )
  }
  throw error
}

/**
 * Opens a torch.save checkpoint whose root object is a (Ordered)dict of tensors. Tensors are
 * lazy: each read pulls only its storage range from the archive.
 */
export const readTorchStateDict = (path: string): TensorCollection => {
  let zip: ZipReader
  try {
    zip = ZipReader.open(path)
  } catch (error) {
    if (error instanceof ZipError && error.reason === "NotFound") throw new CheckpointError("NotFound", path, error.message)
    if (error instanceof ZipError && error.reason === "BadSignature") return explainNonZip(path, error)
    throw error
  }
  try {
    const pickles = [...zip.entries.keys()].filter((name) => name.endsWith("/data.pkl") && name.split("/").length === 2)
    if (pickles.length !== 1) {
      throw new CheckpointError(
        "InvalidPickle",
        path,
        pickles.length === 0 ? "no <archive>/data.pkl entry: not a torch.save checkpoint" : `several data.pkl entries (${pickles.join(", ")})`,
      )
    }
    const pickleName = pickles[0]!
    const prefix = pickleName.slice(0, -"data.pkl".length)
    const root = unpickleTorch(zip.read(pickleName), `${path}:${pickleName}`)
    if (!(root instanceof Map)) {
      throw new CheckpointError("InvalidPickle", path, "the pickled object is not a dict of tensors (a state dict was expected)")
    }
    const tensors = new Map<string, LazyTensor>()
    for (const [key, value] of root) {
      if (typeof key !== "string") throw new CheckpointError("InvalidPickle", path, `a state-dict key is not a string (${String(key)})`)
      checkTensorName(path, key)
      if (!isTensorRef(value)) {
        throw new CheckpointError("InvalidPickle", path, "the value is not a tensor; only flat state dicts of tensors are supported", {
          tensor: key,
        })
      }
      checkStorageKey(path, key, value.storage.key)
      tensors.set(key, storageTensor(path, zip, `${prefix}data/${value.storage.key}`, key, value))
    }
    return { tensors, close: () => zip.close() }
  } catch (error) {
    zip.close()
    throw error
  }
}

const storageTensor = (path: string, zip: ZipReader, entryName: string, name: string, ref: TensorRef): LazyTensor => {
  const { storage, storageOffset, size, stride } = ref
  const elementSize = bytesPerElement[storage.dtype]
  const fail = (message: string): never => {
    throw new CheckpointError("InvalidTensor", path, message, { tensor: name })
  }
  if (size.length !== stride.length) fail(`size [${size.join(", ")}] and stride [${stride.join(", ")}] differ in rank`)
  if (size.some((d) => d < 0) || stride.some((s) => s < 0) || storageOffset < 0) {
    fail("negative sizes, strides or storage offsets are not valid")
  }
  const count = elementCount(size)
  // The last element the view touches; every read stays inside [offset, end).
  const end = count === 0 ? storageOffset : storageOffset + size.reduce((sum, dim, i) => sum + (dim - 1) * stride[i]!, 0) + 1
  if (end > storage.numel) {
    fail(`the view (offset ${storageOffset}, size [${size.join(", ")}], stride [${stride.join(", ")}]) reaches element ${end} of a ${storage.numel}-element storage`)
  }
  const entry = zip.entries.get(entryName)
  if (entry === undefined) fail(`its storage "${entryName}" is missing from the archive`)
  if (entry!.size < storage.numel * elementSize) {
    throw new CheckpointError("Truncated", path, `storage "${entryName}" holds ${entry!.size} bytes, ${storage.numel} ${storage.dtype} elements need ${storage.numel * elementSize}`, {
      tensor: name,
    })
  }
  const contiguous = isContiguous(size, stride)
  const readBytes = (byteOffset: number, into: Uint8Array): void => {
    if (!zip.isOpen) throw new CheckpointError("Closed", path, "the checkpoint was closed before this tensor was read", { tensor: name })
    zip.readInto(entryName, storageOffset * elementSize + byteOffset, into)
  }
  const tensor: LazyTensor = {
    name,
    dtype: storage.dtype,
    shape: size,
    readFloat32: () => {
      if (count === 0) return new Float32Array(0)
      const spanElements = contiguous ? count : end - storageOffset
      const buffer = new ArrayBuffer(spanElements * elementSize)
      readBytes(0, new Uint8Array(buffer))
      const span = decodeToFloat32(buffer, storage.dtype, spanElements)
      return contiguous ? span : gatherStrided(span, 0, size, stride)
    },
  }
  // Range reads are positional only for a contiguous view of a stored (uncompressed) entry; a
  // deflated entry would be inflated whole per range, so callers fall back to readFloat32 there.
  if (contiguous && entry!.method === "stored") {
    return {
      ...tensor,
      readFloat32Into: (target, start = 0) => {
        checkRange(path, tensor, start, target.length)
        readElementsInto(readBytes, storage.dtype, start, target)
      },
    }
  }
  return tensor
}
