// Quantize and dequantize Float32Array data exactly as ONNX QuantizeLinear / DequantizeLinear do:
// q = saturate(roundHalfToEven(x / scale) + zeroPoint), x' = (q - zeroPoint) * scale, in float32.

import {
  channelLayout,
  quantTypeRange,
  type ChannelQuantParams,
  type QuantArrayOf,
  type QuantParams,
  type QuantType,
} from "./params.ts"
import { QuantError } from "./quant-error.ts"

const makeQuantArray = <T extends QuantType>(type: T, length: number): QuantArrayOf[T] =>
  (type === "int8" ? new Int8Array(length) : new Uint8Array(length)) as QuantArrayOf[T]

const checkOut = (out: { length: number } | undefined, length: number, subject: string | undefined) => {
  if (out !== undefined && out.length !== length) {
    throw new QuantError("bad-shape", subject, `output holds ${out.length} elements, the input ${length}`)
  }
}

const checkParams = (scale: number, zeroPoint: number, type: QuantType, subject: string | undefined) => {
  const range = quantTypeRange[type]
  if (!(scale > 0) || !Number.isFinite(scale)) throw new QuantError("bad-params", subject, `scale ${scale} must be a positive finite number`)
  if (!Number.isInteger(zeroPoint) || zeroPoint < range.min || zeroPoint > range.max) {
    throw new QuantError("bad-params", subject, `zero point ${zeroPoint} must be an integer in [${range.min}, ${range.max}] for ${type}`)
  }
}

// Shared inner loop. Math.fround(x / scale) equals float32 division (double rounding is harmless for
// a quotient of two float32 values), so results match ONNX Runtime bit for bit. NaN inputs become 0.
const quantizeRun = (
  data: Float32Array,
  out: Int8Array | Uint8Array,
  start: number,
  end: number,
  scale: number,
  zeroPoint: number,
  qmin: number,
  qmax: number,
) => {
  for (let i = start; i < end; i++) {
    const y = Math.fround(data[i]! / scale)
    let r = Math.round(y)
    if (r - y === 0.5 && r % 2 !== 0) r -= 1
    r += zeroPoint
    out[i] = r < qmin ? qmin : r > qmax ? qmax : r
  }
}

/** Per-tensor quantization; writes into `out` when given (same length) to avoid allocating. */
export const quantize = <T extends QuantType>(
  data: Float32Array,
  params: QuantParams<T>,
  out?: QuantArrayOf[T],
  subject?: string,
): QuantArrayOf[T] => {
  checkParams(params.scale, params.zeroPoint, params.type, subject)
  checkOut(out, data.length, subject)
  const result = out ?? makeQuantArray(params.type, data.length)
  const { min, max } = quantTypeRange[params.type]
  quantizeRun(data, result, 0, data.length, params.scale, params.zeroPoint, min, max)
  return result
}

/** Per-tensor dequantization to float32. */
export const dequantize = (q: Int8Array | Uint8Array, params: QuantParams, out?: Float32Array, subject?: string): Float32Array => {
  checkParams(params.scale, params.zeroPoint, params.type, subject)
  checkOut(out, q.length, subject)
  const result = out ?? new Float32Array(q.length)
  const { scale, zeroPoint } = params
  for (let i = 0; i < q.length; i++) result[i] = (q[i]! - zeroPoint) * scale
  return result
}

const checkChannelParams = (params: ChannelQuantParams, channels: number, subject: string | undefined) => {
  if (params.scales.length !== channels || params.zeroPoints.length !== channels) {
    throw new QuantError("bad-params", subject, `axis ${params.axis} has ${channels} channels but there are ${params.scales.length} scales and ${params.zeroPoints.length} zero points`)
  }
  for (let c = 0; c < channels; c++) checkParams(params.scales[c]!, params.zeroPoints[c]!, params.type, subject)
}

/** Per-channel quantization along `params.axis` of a row-major tensor of `shape`. */
export const quantizePerChannel = <T extends QuantType>(
  data: Float32Array,
  shape: readonly number[],
  params: ChannelQuantParams<T>,
  out?: QuantArrayOf[T],
  subject?: string,
): QuantArrayOf[T] => {
  const { outer, channels, inner } = channelLayout(shape, params.axis, data.length, subject)
  checkChannelParams(params, channels, subject)
  checkOut(out, data.length, subject)
  const result = out ?? makeQuantArray(params.type, data.length)
  const { min, max } = quantTypeRange[params.type]
  let i = 0
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++, i += inner) {
      quantizeRun(data, result, i, i + inner, params.scales[c]!, params.zeroPoints[c]!, min, max)
    }
  }
  return result
}

/** Per-channel dequantization along `params.axis`. */
export const dequantizePerChannel = (
  q: Int8Array | Uint8Array,
  shape: readonly number[],
  params: ChannelQuantParams,
  out?: Float32Array,
  subject?: string,
): Float32Array => {
  const { outer, channels, inner } = channelLayout(shape, params.axis, q.length, subject)
  checkChannelParams(params, channels, subject)
  checkOut(out, q.length, subject)
  const result = out ?? new Float32Array(q.length)
  let i = 0
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const scale = params.scales[c]!
      const zeroPoint = params.zeroPoints[c]!
      for (let end = i + inner; i < end; i++) result[i] = (q[i]! - zeroPoint) * scale
    }
  }
  return result
}
