// The numpy dtypes kiln reads and writes, each described once: its descr string, its size and how
// to view little-endian bytes as the matching typed array.

import type { DType } from "../tensor/index.ts"

/** Element types a .npy file may hold here; names follow the shared tensor contract. */
export type NpyDType = Extract<DType, "float32" | "float64" | "int32" | "int64" | "float16" | "uint8" | "int8" | "bool">

/** The typed array that holds each dtype. float16 is kept as raw IEEE half bits; bool as 0/1 bytes. */
export interface NpyDataOf {
  float32: Float32Array
  float64: Float64Array
  int32: Int32Array
  int64: BigInt64Array
  float16: Uint16Array
  uint8: Uint8Array
  int8: Int8Array
  bool: Uint8Array
}

export type NpyData = NpyDataOf[NpyDType]

/** An n-dimensional array in C (row-major) order. */
export type NpyArray = {
  [D in NpyDType]: { readonly dtype: D; readonly shape: readonly number[]; readonly data: NpyDataOf[D] }
}[NpyDType]

interface DTypeSpec<D extends NpyDType> {
  readonly descr: string
  readonly itemSize: number
  /** Name of the typed array class, for error messages. */
  readonly arrayName: string
  /** Views an 8-byte-aligned, little-endian buffer region as this dtype (no copy). */
  readonly view: (buffer: ArrayBuffer, byteOffset: number, length: number) => NpyDataOf[D]
  readonly isData: (data: unknown) => data is NpyDataOf[D]
}

export const dtypeSpecs: { readonly [D in NpyDType]: DTypeSpec<D> } = {
  float32: {
    descr: "<f4",
    itemSize: 4,
    arrayName: "Float32Array",
    view: (b, o, n) => new Float32Array(b, o, n),
    isData: (d): d is Float32Array => d instanceof Float32Array,
  },
  float64: {
    descr: "<f8",
    itemSize: 8,
    arrayName: "Float64Array",
    view: (b, o, n) => new Float64Array(b, o, n),
    isData: (d): d is Float64Array => d instanceof Float64Array,
  },
  int32: {
    descr: "<i4",
    itemSize: 4,
    arrayName: "Int32Array",
    view: (b, o, n) => new Int32Array(b, o, n),
    isData: (d): d is Int32Array => d instanceof Int32Array,
  },
  int64: {
    descr: "<i8",
    itemSize: 8,
    arrayName: "BigInt64Array",
    view: (b, o, n) => new BigInt64Array(b, o, n),
    isData: (d): d is BigInt64Array => d instanceof BigInt64Array,
  },
  float16: {
    descr: "<f2",
    itemSize: 2,
    arrayName: "Uint16Array",
    view: (b, o, n) => new Uint16Array(b, o, n),
    isData: (d): d is Uint16Array => d instanceof Uint16Array,
  },
  uint8: {
    descr: "|u1",
    itemSize: 1,
    arrayName: "Uint8Array",
    view: (b, o, n) => new Uint8Array(b, o, n),
    isData: (d): d is Uint8Array => d instanceof Uint8Array,
  },
  int8: {
    descr: "|i1",
    itemSize: 1,
    arrayName: "Int8Array",
    view: (b, o, n) => new Int8Array(b, o, n),
    isData: (d): d is Int8Array => d instanceof Int8Array,
  },
  bool: {
    descr: "|b1",
    itemSize: 1,
    arrayName: "Uint8Array",
    view: (b, o, n) => new Uint8Array(b, o, n),
    isData: (d): d is Uint8Array => d instanceof Uint8Array,
  },
}

export const npyDTypes = Object.keys(dtypeSpecs) as readonly NpyDType[]

const dtypeByDescr = new Map<string, NpyDType>(npyDTypes.map((d) => [dtypeSpecs[d].descr, d]))

export const dtypeForDescr = (descr: string): NpyDType | undefined => dtypeByDescr.get(descr)

// Typed arrays use the host's byte order and .npy data here is little-endian; every platform Bun
// runs on is little-endian, but refuse loudly rather than corrupt data if that ever changes.
export const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
