// The graph under construction plus what every part of the encoder needs to add to it: the
// compute float type (float32 or float16), opset-dependent helpers (reductions take axes as an
// attribute before opset 18, as an input from 18), constants and weight initializers.
import { type AttrInput, GraphBuilder, type ElementType, onnxDataTypeOf } from "../onnx/index.ts"
import { float32ToFloat16, type LazyTensor } from "../tensor/index.ts"
import { ScratchBuffer, streamed, transposedLinear, type WeightValues, weightScratch } from "./weight-layout.ts"

export type IdType = "int64" | "int32"

export interface GraphContextOptions {
  readonly name: string
  readonly opset: number
  readonly float: "float32" | "float16"
  readonly idType: IdType
  readonly producerVersion: string
  readonly metadata: Readonly<Record<string, string>>
  /** Called as each weight is loaded for writing. */
  readonly onWeight?: (name: string, bytes: number) => void
}

export class GraphContext {
  readonly g: GraphBuilder
  readonly float: "float32" | "float16"
  readonly idType: IdType
  readonly opset: number
  private readonly onWeight: ((name: string, bytes: number) => void) | undefined
  private readonly constants = new Map<string, string>()
  /** Borrowed by the weight producers (see weight-layout.ts). */
  readonly scratch = weightScratch()
  /** Holds the float16 bits of one piece at a time. */
  private readonly halfScratch = new ScratchBuffer()

  constructor(options: GraphContextOptions) {
    this.g = new GraphBuilder({
      name: options.name,
      opset: options.opset,
      opsets: { "com.microsoft": 1 },
      producerName: "kiln",
      producerVersion: options.producerVersion,
      metadata: options.metadata,
    })
    this.float = options.float
    this.idType = options.idType
    this.opset = options.opset
    this.onWeight = options.onWeight
  }

  /**
   * A weight in the compute float type, read (and rearranged) only when the model is written,
   * and streamed to the writer piece by piece (float16 pieces converted into one reused buffer).
   */
  weight(name: string, dims: readonly number[], values: WeightValues): string {
    const bytes = dims.reduce((a, b) => a * b, 1) * (this.float === "float16" ? 2 : 4)
    return this.g.initializer(name, this.float, dims, { chunks: () => this.encoded(name, bytes, values) })
  }

  private *encoded(name: string, bytes: number, values: WeightValues): Generator<Uint8Array> {
    this.onWeight?.(name, bytes)
    for (const piece of values()) {
      if (this.float === "float32") {
        yield new Uint8Array(piece.buffer, piece.byteOffset, piece.byteLength)
        continue
      }
      const half = this.halfScratch.takeUint16(piece.length)
      // The same conversion GraphBuilder applies to a Float32Array given for float16.
      float32ToFloat16(piece, half)
      yield new Uint8Array(half.buffer, 0, half.byteLength)
    }
  }

  /** A float constant in the compute type, shared by every node that uses the same value. */
  floatScalar(value: number): string {
    return this.constant(`const_${this.float}_${value}`, () => this.g.initializer(this.g.uniqueName(`const_${this.float}_${String(value).replace(/[^0-9a-z]/gi, "_")}`), this.float, [], [value]))
  }

  /** A float32 scalar whatever the compute type (normalisation runs in float32). */
  float32Scalar(value: number): string {
    return this.constant(`const_float32_${value}`, () => this.g.initializer(this.g.uniqueName(`const_float32_${String(value).replace(/[^0-9a-z]/gi, "_")}`), "float32", [], [value]))
  }

  int64s(values: readonly number[], scalar = false): string {
    const key = `int64_${scalar ? "s" : "v"}_${values.join("_")}`
    return this.constant(key, () => this.g.initializer(this.g.uniqueName(`const_${key.replace(/-/g, "m")}`), "int64", scalar ? [] : [values.length], values))
  }

  /** A scalar in the input id type (pad id, 0, 1 …). */
  idScalar(value: number): string {
    return this.constant(`${this.idType}_${value}`, () => this.g.initializer(this.g.uniqueName(`const_${this.idType}_${value}`), this.idType, [], [value]))
  }

  op(opType: string, inputs: readonly string[], attrs?: Readonly<Record<string, AttrInput | undefined>>, domain?: string): string {
    return this.g.op(opType, inputs, { ...(attrs ? { attrs } : {}), ...(domain ? { domain } : {}) })
  }

  cast(x: string, to: ElementType): string {
    return this.op("Cast", [x], { to: onnxDataTypeOf(to) })
  }

  /** ReduceSum/ReduceL2/… over `axes`, in the form the opset wants. */
  reduce(opType: "ReduceSum" | "ReduceL2" | "ReduceMean", x: string, axes: readonly number[], keepdims: boolean): string {
    // ReduceSum moved axes to an input at opset 13, the other reductions at 18.
    const axesAsInput = opType === "ReduceSum" || this.opset >= 18
    return axesAsInput
      ? this.op(opType, [x, this.int64s(axes)], { keepdims: keepdims ? 1 : 0 })
      : this.op(opType, [x], { axes, keepdims: keepdims ? 1 : 0 })
  }

  unsqueeze(x: string, axes: readonly number[]): string {
    return this.op("Unsqueeze", [x, this.int64s(axes)])
  }

  squeeze(x: string, axes: readonly number[]): string {
    return this.op("Squeeze", [x, this.int64s(axes)])
  }

  /** x · Wᵀ + b for a PyTorch Linear stored [out, in] (written transposed, [in, out]). */
  linear(x: string, prefix: string, weight: LazyTensor, bias: LazyTensor): string {
    const [out, inp] = weight.shape as [number, number]
    const w = this.weight(`${prefix}.weight`, [inp, out], transposedLinear(weight, this.scratch))
    const b = this.weight(`${prefix}.bias`, [out], streamed(bias, this.scratch))
    return this.op("Add", [this.op("MatMul", [x, w]), b])
  }

  private constant(key: string, make: () => string): string {
    const existing = this.constants.get(key)
    if (existing !== undefined) return existing
    const name = make()
    this.constants.set(key, name)
    return name
  }
}
