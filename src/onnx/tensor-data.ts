// Tensor bytes: turning what callers hand in (typed arrays, raw bytes, number lists, thunks) into
// raw little-endian TensorData (whole, lazy or chunked), reading TensorData back (including external
// files), and float32 views.
import { closeSync, fstatSync, openSync, readSync } from "node:fs"
import { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from "../tensor/index.ts"
import { type ElementType, rawByteLength } from "./dtype.ts"
import { OnnxBuildError, OnnxReadError } from "./errors.ts"
import type { OnnxTensor, TensorData } from "./model.ts"

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array

/**
 * What a caller may give as tensor contents:
 * - a Uint8Array: the raw little-endian bytes, whatever the dtype;
 * - the typed array native to the dtype (Float32Array for float32, BigInt64Array for int64, …;
 *   Uint16Array holds float16/bfloat16 bits), or a Float32Array for float16/bfloat16 (converted);
 * - a plain number/bigint list (small constants such as shapes);
 * - a thunk returning one of the above, called only when the bytes are needed (at write time);
 * - `{ chunks }`: raw little-endian bytes in pieces, produced at write time (see ChunkedTensorInput).
 */
export type TensorInput = TypedArray | readonly number[] | readonly bigint[] | (() => TypedArray | readonly number[]) | ChunkedTensorInput

/**
 * A big tensor streamed in pieces: `chunks()` is called once, when the tensor is written, and its
 * pieces (raw little-endian bytes, any sizes) must add up to dtype × dims. Each piece is borrowed
 * until the next is requested, so a producer can refill one reused buffer: no tensor-sized copy
 * ever exists.
 */
export interface ChunkedTensorInput {
  readonly chunks: () => Iterable<Uint8Array>
}

const isChunked = (input: TensorInput): input is ChunkedTensorInput =>
  typeof input === "object" && input !== null && !Array.isArray(input) && !ArrayBuffer.isView(input) && typeof (input as ChunkedTensorInput).chunks === "function"

// Raw data in ONNX is little-endian; typed-array views are host-endian.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

type TypedArrayConstructor = { readonly name: string; new (length: number): TypedArray }

const NATIVE_ARRAY: Partial<Record<ElementType, TypedArrayConstructor>> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
}

const viewBytes = (a: TypedArray): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)

const describe = (value: unknown): string =>
  Array.isArray(value) ? "a plain array" : ((value as object | null)?.constructor?.name ?? typeof value)

/** Converts contents given for `tensor` to raw little-endian bytes, checking type and length. */
export const encodeTensorContents = (tensor: string, dtype: ElementType, dims: readonly number[], value: unknown): Uint8Array => {
  if (!HOST_IS_LITTLE_ENDIAN) throw new OnnxBuildError("kiln's ONNX writer needs a little-endian host")
  const expected = rawByteLength(dtype, dims)
  if (expected === undefined) throw new OnnxBuildError(`tensor "${tensor}": dtype ${dtype} has no raw byte layout; kiln does not write ${dtype} tensors`)
  let bytes: Uint8Array
  if (value instanceof Uint8Array) bytes = value
  else if (value instanceof Float32Array && (dtype === "float16" || dtype === "bfloat16")) {
    bytes = viewBytes(dtype === "float16" ? float32ToFloat16(value) : float32ToBfloat16(value))
  } else if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const native = NATIVE_ARRAY[dtype]
    if (!native || !(value instanceof native))
      throw new OnnxBuildError(
        `tensor "${tensor}": a ${value.constructor.name} does not fit dtype ${dtype}; ` +
          `expected ${native ? `${native.name} or a Uint8Array of raw little-endian bytes` : "a Uint8Array of raw bytes"}`,
      )
    bytes = viewBytes(value as TypedArray)
  } else if (Array.isArray(value)) bytes = encodeList(tensor, dtype, value)
  else throw new OnnxBuildError(`tensor "${tensor}": expected a typed array, a number list or a thunk, got ${describe(value)}`)
  if (bytes.byteLength !== expected)
    throw new OnnxBuildError(
      `tensor "${tensor}": ${dtype}[${dims.join(", ")}] needs ${expected} bytes, the data has ${bytes.byteLength}`,
    )
  return bytes
}

const encodeList = (tensor: string, dtype: ElementType, list: readonly unknown[]): Uint8Array => {
  const bad = (i: number, what: string) =>
    new OnnxBuildError(`tensor "${tensor}": element ${i} (${String(list[i])}) is not ${what} for dtype ${dtype}`)
  const numbers = (check: (v: number) => boolean, what: string): number[] =>
    list.map((v, i) => {
      const n = typeof v === "bigint" ? Number(v) : v
      if (typeof n !== "number" || !check(n)) throw bad(i, what)
      return n
    })
  const ints = (lo: number, hi: number) => numbers((v) => Number.isInteger(v) && v >= lo && v <= hi, `an integer in [${lo}, ${hi}]`)
  const finite = () => numbers((v) => typeof v === "number", "a number")
  switch (dtype) {
    case "float32": return viewBytes(Float32Array.from(finite()))
    case "float64": return viewBytes(Float64Array.from(finite()))
    case "float16":
    case "bfloat16": return encodeTensorContents(tensor, dtype, [list.length], Float32Array.from(finite()))
    case "int8": return viewBytes(Int8Array.from(ints(-128, 127)))
    case "uint8": return Uint8Array.from(ints(0, 255))
    case "bool": return Uint8Array.from(ints(0, 1))
    case "int16": return viewBytes(Int16Array.from(ints(-32768, 32767)))
    case "uint16": return viewBytes(Uint16Array.from(ints(0, 65535)))
    case "int32": return viewBytes(Int32Array.from(ints(-(2 ** 31), 2 ** 31 - 1)))
    case "uint32": return viewBytes(Uint32Array.from(ints(0, 2 ** 32 - 1)))
    case "int64":
    case "uint64": {
      const values = list.map((v, i) => {
        if (typeof v === "bigint") return v
        if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v)
        throw bad(i, "a safe integer or bigint")
      })
      return viewBytes(dtype === "int64" ? BigInt64Array.from(values) : BigUint64Array.from(values))
    }
    default:
      throw new OnnxBuildError(`tensor "${tensor}": give ${dtype} data as a Uint8Array of raw bytes, not a list`)
  }
}

/** Validates `input` now (when it is not a thunk) and wraps it as TensorData. */
export const toTensorData = (tensor: string, dtype: ElementType, dims: readonly number[], input: TensorInput): TensorData => {
  if (typeof input === "function") {
    const thunk = input
    return { kind: "lazy", load: () => encodeTensorContents(tensor, dtype, dims, thunk()) }
  }
  if (isChunked(input)) {
    const byteLength = rawByteLength(dtype, dims)
    if (byteLength === undefined) throw new OnnxBuildError(`tensor "${tensor}": dtype ${dtype} has no raw byte layout; kiln does not write ${dtype} tensors`)
    return { kind: "chunks", byteLength, chunks: input.chunks }
  }
  return { kind: "bytes", bytes: encodeTensorContents(tensor, dtype, dims, input) }
}

/** Expected raw length or a clear error (strings have none). */
export const expectedByteLength = (t: OnnxTensor): number => {
  const n = rawByteLength(t.dtype, t.dims)
  if (n === undefined) throw new OnnxBuildError(`tensor "${t.name}": dtype ${t.dtype} has no raw byte layout`)
  return n
}

/**
 * The raw little-endian bytes of a tensor: in-memory bytes as they are, a thunk called now,
 * chunks gathered into one buffer, external data read from its file (only this tensor's range).
 */
export const readTensorBytes = (t: OnnxTensor): Uint8Array => {
  const data = t.data
  switch (data.kind) {
    case "bytes": return data.bytes
    case "lazy": return data.load()
    case "chunks": {
      const out = new Uint8Array(data.byteLength)
      let done = 0
      for (const chunk of checkedChunks(t.name, data)) {
        out.set(chunk, done)
        done += chunk.byteLength
      }
      return out
    }
    case "external": return readExternalRange(t.name, data, expectedByteLength(t))
  }
}

/**
 * The pieces of a chunked tensor, checked as they come: each must be a Uint8Array, and together
 * they must be exactly `byteLength` bytes (the excess is refused before it is used).
 */
export function* checkedChunks(tensor: string, data: Extract<TensorData, { kind: "chunks" }>): Generator<Uint8Array> {
  let done = 0
  for (const chunk of data.chunks()) {
    if (!(chunk instanceof Uint8Array))
      throw new OnnxBuildError(`tensor "${tensor}": a chunk is ${describe(chunk)}, expected a Uint8Array of raw little-endian bytes`)
    if (done + chunk.byteLength > data.byteLength)
      throw new OnnxBuildError(`tensor "${tensor}": its chunks hold more than the ${data.byteLength} bytes its dtype and dims need`)
    done += chunk.byteLength
    yield chunk
  }
  if (done !== data.byteLength) throw new OnnxBuildError(`tensor "${tensor}": its chunks hold ${done} bytes, its dtype and dims need ${data.byteLength}`)
}

const readExternalRange = (tensor: string, data: Extract<TensorData, { kind: "external" }>, expected: number): Uint8Array => {
  let fd: number
  try {
    fd = openSync(data.path, "r")
  } catch (cause) {
    throw new OnnxReadError(`tensor "${tensor}": cannot open external data file "${data.location}" (${data.path}): ${(cause as Error).message}`, data.path, { cause })
  }
  try {
    const size = fstatSync(fd).size
    const length = data.length ?? size - data.offset
    if (length !== expected)
      throw new OnnxReadError(`tensor "${tensor}": external data length ${length} does not match its dtype and dims (${expected} bytes)`, data.path)
    if (data.offset + length > size)
      throw new OnnxReadError(
        `tensor "${tensor}": external data range [${data.offset}, ${data.offset + length}) runs past the end of "${data.location}" (${size} bytes)`,
        data.path,
      )
    const out = new Uint8Array(length)
    let done = 0
    while (done < length) {
      const n = readSync(fd, out, done, length - done, data.offset + done)
      if (n === 0) throw new OnnxReadError(`tensor "${tensor}": unexpected end of "${data.location}"`, data.path)
      done += n
    }
    return out
  } finally {
    closeSync(fd)
  }
}

/** The tensor's values as a fresh Float32Array; float32, float16, bfloat16 and float64 only. */
export const tensorToFloat32 = (t: OnnxTensor): Float32Array => {
  const bytes = readTensorBytes(t)
  // Copy (a Node Buffer's slice() would be a view) so the typed views below start aligned.
  const buf = new Uint8Array(bytes).buffer
  switch (t.dtype) {
    case "float32": return new Float32Array(buf)
    case "float64": return Float32Array.from(new Float64Array(buf))
    case "float16": return float16ToFloat32(new Uint16Array(buf))
    case "bfloat16": return bfloat16ToFloat32(new Uint16Array(buf))
    default:
      throw new OnnxBuildError(`tensor "${t.name}" is ${t.dtype}; only float32, float16, bfloat16 and float64 convert to Float32Array`)
  }
}
