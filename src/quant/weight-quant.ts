// Symmetric int8 weights for the int8 passes: per output channel (one scale per column of a [K, N]
// MatMul weight, per hidden channel of an embedding table) or one scale per tensor.

import { channelParams, symmetricInt8Params } from "./params.ts"
import { quantize, quantizePerChannel } from "./quantize.ts"

export type WeightGranularity = "per-channel" | "per-tensor"

export interface QuantizedWeight {
  readonly data: Int8Array
  /** [columns] for per-channel, [1 value] for per-tensor. */
  readonly scales: Float32Array
}

/** Quantizes a row-major [rows, cols] matrix; "per-channel" means one scale per column. */
export const quantizeWeightColumns = (data: Float32Array, rows: number, cols: number, granularity: WeightGranularity, subject: string): QuantizedWeight => {
  if (granularity === "per-channel") {
    const params = channelParams(data, [rows, cols], 1, "symmetric-int8", subject)
    return { data: quantizePerChannel(data, [rows, cols], params as typeof params & { type: "int8" }, undefined, subject) as Int8Array, scales: params.scales }
  }
  let absMax = 0
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]!)
    if (a > absMax) absMax = a
  }
  const params = symmetricInt8Params(absMax, subject)
  return { data: quantize(data, params, undefined, subject), scales: Float32Array.of(params.scale) }
}
