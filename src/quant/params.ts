// Quantization parameters (scale, zero point) from value ranges: symmetric int8 and asymmetric
// uint8, per tensor or per channel along a given axis. Scales are float32 values because that is
// how ONNX stores them.

import { roundHalfToEven } from "./round.ts"
import { QuantError } from "./quant-error.ts"

export type QuantType = "int8" | "uint8"

/** symmetric-int8: zero point 0, scale max|x|/127. asymmetric-uint8: range stretched to cover 0. */
export type QuantScheme = "symmetric-int8" | "asymmetric-uint8"

export interface QuantArrayOf {
  int8: Int8Array
  uint8: Uint8Array
}

/** Saturation bounds of each integer type, as ONNX QuantizeLinear applies them. */
export const quantTypeRange: { readonly [T in QuantType]: { readonly min: number; readonly max: number } } = {
  int8: { min: -128, max: 127 },
  uint8: { min: 0, max: 255 },
}

/** Per-tensor affine quantization: real ≈ (q - zeroPoint) * scale. */
export interface QuantParams<T extends QuantType = QuantType> {
  readonly type: T
  readonly scale: number
  readonly zeroPoint: number
}

/** One scale and zero point per index along `axis` (ONNX QuantizeLinear's `axis` attribute). */
export interface ChannelQuantParams<T extends QuantType = QuantType> {
  readonly type: T
  readonly axis: number
  readonly scales: Float32Array
  readonly zeroPoints: Int32Array
}

/**
 * How a 2-D weight is laid out: "in-out" is ONNX MatMul's B ([in, out]); "out-in" is PyTorch Linear
 * and Gemm with transB ([out, in]). Per-channel weight quantization is per output channel.
 */
export type WeightLayout = "in-out" | "out-in"

export const outputChannelAxis = (layout: WeightLayout): number => (layout === "in-out" ? 1 : 0)

const checkRange = (min: number, max: number, subject: string | undefined) => {
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    throw new QuantError("bad-range", subject, `range [${min}, ${max}] must be finite (NaN or infinite values in the tensor?)`)
  }
  if (min > max) throw new QuantError("bad-range", subject, `range min ${min} is greater than max ${max}`)
}

/** Symmetric int8 for values in [-absMax, absMax]: zero point 0, scale absMax/127. */
export const symmetricInt8Params = (absMax: number, subject?: string): QuantParams<"int8"> => {
  checkRange(-absMax, absMax, subject)
  const scale = Math.fround(absMax / 127)
  // An all-zero tensor has no range; any positive scale maps it to 0, and 1 keeps inverses finite.
  return { type: "int8", scale: scale > 0 ? scale : 1, zeroPoint: 0 }
}

/** Asymmetric uint8 for [min, max], widened to include 0 so real 0 quantizes exactly to the zero point. */
export const asymmetricUint8Params = (min: number, max: number, subject?: string): QuantParams<"uint8"> => {
  checkRange(min, max, subject)
  const lo = Math.min(min, 0)
  const hi = Math.max(max, 0)
  const scale = Math.fround((hi - lo) / 255)
  if (!(scale > 0)) return { type: "uint8", scale: 1, zeroPoint: 0 }
  const zeroPoint = Math.min(255, Math.max(0, roundHalfToEven(-lo / scale)))
  return { type: "uint8", scale, zeroPoint }
}

export const paramsForRange = (scheme: QuantScheme, min: number, max: number, subject?: string): QuantParams =>
  scheme === "symmetric-int8"
    ? symmetricInt8Params(Math.max(Math.abs(min), Math.abs(max)), subject)
    : asymmetricUint8Params(min, max, subject)

/** Exact min and max of a tensor; NaN or infinities are an error naming `subject`. */
export const tensorRange = (data: Float32Array, subject?: string): { min: number; max: number } => {
  if (data.length === 0) throw new QuantError("bad-shape", subject, "cannot compute a range of an empty tensor")
  let min = Infinity
  let max = -Infinity
  let nan = 0
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!
    if (v < min) min = v
    if (v > max) max = v
    if (v !== v) nan++
  }
  if (nan > 0) throw new QuantError("bad-range", subject, `tensor holds ${nan} NaN values`)
  checkRange(min, max, subject)
  return { min, max }
}

export const tensorParams = (data: Float32Array, scheme: QuantScheme, subject?: string): QuantParams => {
  const { min, max } = tensorRange(data, subject)
  return paramsForRange(scheme, min, max, subject)
}

/** The tensor viewed as [outer, channels, inner] around `axis`, the loop shape of per-channel code. */
export interface ChannelLayout {
  readonly outer: number
  readonly channels: number
  readonly inner: number
}

export const channelLayout = (shape: readonly number[], axis: number, length: number, subject?: string): ChannelLayout => {
  if (!Number.isInteger(axis) || axis < -shape.length || axis >= shape.length) {
    throw new QuantError("bad-shape", subject, `axis ${axis} is out of range for shape [${shape.join(", ")}]`)
  }
  const a = axis < 0 ? axis + shape.length : axis
  let outer = 1
  let inner = 1
  for (let i = 0; i < a; i++) outer *= shape[i]!
  for (let i = a + 1; i < shape.length; i++) inner *= shape[i]!
  const channels = shape[a]!
  if (outer * channels * inner !== length) {
    throw new QuantError("bad-shape", subject, `shape [${shape.join(", ")}] holds ${outer * channels * inner} elements but the data has ${length}`)
  }
  return { outer, channels, inner }
}

/** Min and max of each channel along `axis`. */
export const channelRanges = (
  data: Float32Array,
  shape: readonly number[],
  axis: number,
  subject?: string,
): { mins: Float64Array; maxs: Float64Array } => {
  const { outer, channels, inner } = channelLayout(shape, axis, data.length, subject)
  if (data.length === 0) throw new QuantError("bad-shape", subject, "cannot compute channel ranges of an empty tensor")
  const mins = new Float64Array(channels).fill(Infinity)
  const maxs = new Float64Array(channels).fill(-Infinity)
  let nan = 0
  let i = 0
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      let lo = mins[c]!
      let hi = maxs[c]!
      for (let k = 0; k < inner; k++, i++) {
        const v = data[i]!
        if (v < lo) lo = v
        if (v > hi) hi = v
        if (v !== v) nan++
      }
      mins[c] = lo
      maxs[c] = hi
    }
  }
  if (nan > 0) throw new QuantError("bad-range", subject, `tensor holds ${nan} NaN values`)
  for (let c = 0; c < channels; c++) checkRange(mins[c]!, maxs[c]!, subject === undefined ? `channel ${c}` : `${subject} channel ${c}`)
  return { mins, maxs }
}

/** Per-channel parameters along `axis` (1 for [in, out] MatMul weights, 0 for [out, in]). */
export const channelParams = (
  data: Float32Array,
  shape: readonly number[],
  axis: number,
  scheme: QuantScheme,
  subject?: string,
): ChannelQuantParams => {
  const { mins, maxs } = channelRanges(data, shape, axis, subject)
  const scales = new Float32Array(mins.length)
  const zeroPoints = new Int32Array(mins.length)
  for (let c = 0; c < mins.length; c++) {
    const p = paramsForRange(scheme, mins[c]!, maxs[c]!, subject)
    scales[c] = p.scale
    zeroPoints[c] = p.zeroPoint
  }
  const a = axis < 0 ? axis + shape.length : axis
  return { type: scheme === "symmetric-int8" ? "int8" : "uint8", axis: a, scales, zeroPoints }
}
