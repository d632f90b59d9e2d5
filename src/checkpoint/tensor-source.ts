// What the checkpoint writers consume: a named float tensor whose values are produced on demand,
// so a writer can evaluate and write one tensor (or one piece of it) at a time and keep memory flat.
import { elementCount } from "../tensor/index.ts"
import { CheckpointError } from "./errors.ts"

export type WritableDType = "float32" | "float16" | "bfloat16"

export interface TensorSource {
  readonly name: string
  /** The dtype stored in the file; values are converted (round-to-nearest-even) on write. */
  readonly dtype: WritableDType
  readonly shape: readonly number[]
  /** Row-major values; called once, when the writer reaches this tensor (unless `chunks` is given). */
  readonly values: () => Float32Array
  /**
   * Optional, preferred by the writers: the same row-major values in consecutive pieces, each
   * borrowed until the next is requested, so a big tensor can come through one reused buffer.
   */
  readonly chunks?: () => Iterable<Float32Array>
}

const writableDTypes: ReadonlySet<string> = new Set(["float32", "float16", "bfloat16"])

/** Checks names, dtypes and shapes before anything is written. */
export const validateTensorSources = (file: string, sources: readonly TensorSource[]): void => {
  const seen = new Set<string>()
  for (const source of sources) {
    if (typeof source.name !== "string" || source.name.length === 0) {
      throw new CheckpointError("InvalidInput", file, "a tensor source has an empty name")
    }
    if (seen.has(source.name)) {
      throw new CheckpointError("InvalidInput", file, "two tensor sources have this name", { tensor: source.name })
    }
    seen.add(source.name)
    if (!writableDTypes.has(source.dtype)) {
      throw new CheckpointError("InvalidInput", file, `dtype must be float32, float16 or bfloat16, got ${String(source.dtype)}`, {
        tensor: source.name,
      })
    }
    if (!source.shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
      throw new CheckpointError("InvalidInput", file, `shape must be non-negative integers, got [${source.shape.join(", ")}]`, {
        tensor: source.name,
      })
    }
  }
}

/** Calls `source.values()` and checks it has as many elements as the shape says. */
export const evaluateTensorSource = (file: string, source: TensorSource): Float32Array => {
  const values = source.values()
  const expected = elementCount(source.shape)
  if (!(values instanceof Float32Array) || values.length !== expected) {
    const got = values instanceof Float32Array ? `${values.length} values` : "something other than a Float32Array"
    throw new CheckpointError("InvalidInput", file, `shape [${source.shape.join(", ")}] needs ${expected} values, got ${got}`, {
      tensor: source.name,
    })
  }
  return values
}

/**
 * The source's values in pieces as the writers consume them: its `chunks` (checked to be
 * Float32Arrays adding up to the shape's element count) or, without them, its whole `values`.
 */
export function* tensorSourcePieces(file: string, source: TensorSource): Generator<Float32Array> {
  if (source.chunks === undefined) {
    yield evaluateTensorSource(file, source)
    return
  }
  const expected = elementCount(source.shape)
  let count = 0
  for (const piece of source.chunks()) {
    if (!(piece instanceof Float32Array)) throw new CheckpointError("InvalidInput", file, "a chunk is not a Float32Array", { tensor: source.name })
    count += piece.length
    if (count > expected) break
    yield piece
  }
  if (count !== expected) {
    throw new CheckpointError("InvalidInput", file, `shape [${source.shape.join(", ")}] needs ${expected} values, its chunks hold ${count > expected ? "more" : count}`, {
      tensor: source.name,
    })
  }
}
