// Writes a state dict the way torch.save does (zip of data.pkl + data/<key> storages, 64-byte
// aligned), loadable by torch.load(weights_only=True). Tensors are produced one at a time.
import { basename, extname } from "node:path"
import { ZipWriter } from "../zip/index.ts"
import { elementCount, bytesPerElement } from "../tensor/index.ts"
import { CheckpointError } from "./errors.ts"
import { encodeFloat32Blocks } from "./float-codec.ts"
import { PyGlobal, PyPersistent, PyReduce, PyTuple, pickleProtocol2 } from "./pickle-writer.ts"
import { type TensorSource, tensorSourcePieces, validateTensorSources, type WritableDType } from "./tensor-source.ts"

export interface TorchWriteOptions {
  /**
   * The top folder inside the zip. torch.save uses the file name without its extension
   * (`pytorch_model` for pytorch_model.bin); that is the default here too.
   */
  readonly archiveName?: string
}

const storageClassName: Readonly<Record<WritableDType, string>> = {
  float32: "FloatStorage",
  float16: "HalfStorage",
  bfloat16: "BFloat16Storage",
}

/** Row-major strides as torch computes them (a zero-sized dim counts as 1). */
export const contiguousStrides = (shape: readonly number[]): number[] => {
  const strides = new Array<number>(shape.length)
  let stride = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride
    stride *= Math.max(shape[i]!, 1)
  }
  return strides
}

/** The source's stored bytes, a piece (and within it a block) at a time. */
function* encodedPieces(path: string, source: TensorSource): Generator<Uint8Array> {
  for (const piece of tensorSourcePieces(path, source)) yield* encodeFloat32Blocks(piece, source.dtype)
}

/**
 * The data.pkl torch.save writes for an OrderedDict of contiguous CPU tensors, storage i
 * holding source i:
 *   OrderedDict([(name, _rebuild_tensor_v2(persid(("storage", <Type>Storage, "i", "cpu", numel)),
 *                                           0, size, stride, False, OrderedDict())), …])
 */
export const torchStateDictPickle = (sources: readonly TensorSource[]): Uint8Array => {
  const orderedDict = new PyGlobal("collections", "OrderedDict")
  const rebuildTensor = new PyGlobal("torch._utils", "_rebuild_tensor_v2")
  const storageClasses = new Map<WritableDType, PyGlobal>()
  const items = sources.map((source, index): readonly [string, PyReduce] => {
    let storageClass = storageClasses.get(source.dtype)
    if (storageClass === undefined) {
      storageClass = new PyGlobal("torch", storageClassName[source.dtype])
      storageClasses.set(source.dtype, storageClass)
    }
    const storage = new PyPersistent(new PyTuple(["storage", storageClass, String(index), "cpu", elementCount(source.shape)]))
    const args = new PyTuple([
      storage,
      0,
      new PyTuple(source.shape),
      new PyTuple(contiguousStrides(source.shape)),
      false,
      new PyReduce(orderedDict, new PyTuple([])),
    ])
    return [source.name, new PyReduce(rebuildTensor, args)]
  })
  return pickleProtocol2(new PyReduce(orderedDict, new PyTuple([]), items))
}

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text)

/**
 * Writes `sources` as a torch state dict at `path` (via a temporary file and rename), records
 * in torch.save's order: data.pkl, .format_version, .storage_alignment, byteorder,
 * data/0 … data/n-1 (source order), version.
 */
export const writeTorchStateDict = (path: string, sources: readonly TensorSource[], options: TorchWriteOptions = {}): void => {
  validateTensorSources(path, sources)
  const archive = options.archiveName ?? basename(path, extname(path))
  if (archive.length === 0 || /[/\\]/.test(archive) || archive === "." || archive === "..") {
    throw new CheckpointError("InvalidInput", path, `archiveName must be a single non-empty folder name, got "${archive}"`)
  }
  const zip = ZipWriter.create(path, { align: 64 })
  try {
    zip.add(`${archive}/data.pkl`, torchStateDictPickle(sources))
    zip.add(`${archive}/.format_version`, ascii("1"))
    zip.add(`${archive}/.storage_alignment`, ascii("64"))
    zip.add(`${archive}/byteorder`, ascii("little"))
    sources.forEach((source, index) => {
      zip.addChunks(`${archive}/data/${index}`, elementCount(source.shape) * bytesPerElement[source.dtype], encodedPieces(path, source))
    })
    zip.add(`${archive}/version`, ascii("3\n"))
    zip.finish()
  } catch (error) {
    zip.abort()
    throw error
  }
}
