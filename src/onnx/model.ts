// The in-memory ONNX model kiln builds, writes, reads and checks: plain data, no protobuf types,
// with tensor bytes that may live in memory, behind a thunk, or in an external data file.
import type { ElementType } from "./dtype.ts"

/** A dimension: a fixed size, a symbolic name ("batch"), or null when unknown. */
export type Dim = number | string | null

export interface ValueInfo {
  readonly name: string
  /** Undefined when the value carries no tensor type (e.g. a sequence in a foreign model). */
  readonly dtype: ElementType | undefined
  /** Undefined when the rank is unknown. */
  readonly dims: readonly Dim[] | undefined
  readonly docString?: string
}

/** Where a tensor's raw little-endian bytes come from. */
export type TensorData =
  /** Bytes in memory. */
  | { readonly kind: "bytes"; readonly bytes: Uint8Array }
  /** Produced on demand (e.g. read from a checkpoint); the writer calls it once, at write time. */
  | { readonly kind: "lazy"; readonly load: () => Uint8Array }
  /**
   * Produced on demand in pieces whose concatenation is the raw bytes (`byteLength` in all). Each
   * piece is borrowed: it is consumed before the next is asked for, so a producer may refill one
   * buffer. The writer streams the pieces; readers of the whole tensor concatenate them.
   */
  | { readonly kind: "chunks"; readonly byteLength: number; readonly chunks: () => Iterable<Uint8Array> }
  /** In an external data file: `location` as written in the model, `path` resolved on disk. */
  | {
      readonly kind: "external"
      readonly location: string
      readonly path: string
      readonly offset: number
      /** As recorded in the model; absent means "to the end of the file". */
      readonly length: number | undefined
    }

export interface OnnxTensor {
  readonly name: string
  readonly dtype: ElementType
  readonly dims: readonly number[]
  readonly data: TensorData
  readonly docString?: string
}

export type AttributeValue =
  | { readonly type: "float"; readonly value: number }
  | { readonly type: "int"; readonly value: number | bigint }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "tensor"; readonly value: OnnxTensor }
  | { readonly type: "graph"; readonly value: OnnxGraph }
  | { readonly type: "floats"; readonly value: readonly number[] }
  | { readonly type: "ints"; readonly value: readonly (number | bigint)[] }
  | { readonly type: "strings"; readonly value: readonly string[] }
  | { readonly type: "tensors"; readonly value: readonly OnnxTensor[] }
  | { readonly type: "graphs"; readonly value: readonly OnnxGraph[] }

export type AttributeType = AttributeValue["type"]

export type Attribute = AttributeValue & { readonly name: string }

export interface OnnxNode {
  readonly name: string
  readonly opType: string
  /** "" is the default ONNX domain (also written "ai.onnx"). */
  readonly domain: string
  /** "" marks an omitted optional input. */
  readonly inputs: readonly string[]
  readonly outputs: readonly string[]
  readonly attributes: readonly Attribute[]
  readonly docString?: string
}

export interface OnnxGraph {
  readonly name: string
  readonly nodes: readonly OnnxNode[]
  readonly inputs: readonly ValueInfo[]
  readonly outputs: readonly ValueInfo[]
  readonly valueInfos: readonly ValueInfo[]
  readonly initializers: readonly OnnxTensor[]
  readonly docString?: string
}

export interface OpsetImport {
  readonly domain: string
  readonly version: number
}

export interface OnnxModel {
  readonly irVersion: number
  readonly opsetImports: readonly OpsetImport[]
  readonly producerName: string
  readonly producerVersion: string
  readonly domain: string
  readonly modelVersion: number
  readonly docString: string
  /** Ordered key/value pairs (metadata_props); order is kept so output is deterministic. */
  readonly metadata: readonly { readonly key: string; readonly value: string }[]
  readonly graph: OnnxGraph
}

/** The default domain has two spellings; compare domains through this. */
export const normalizeDomain = (domain: string): string => (domain === "ai.onnx" ? "" : domain)
