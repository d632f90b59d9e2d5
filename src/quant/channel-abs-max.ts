// Streaming max |x| per channel (the last axis) of activations across calibration batches: the
// statistic SmoothQuant needs to see which hidden channels carry outliers. Non-finite values are
// counted and left out, as in RangeObserver.

import { QuantError } from "./quant-error.ts"

export class ChannelAbsMax {
  private readonly maxima = new Map<string, Float32Array>()
  private readonly nonFinite = new Map<string, number>()

  /** `dims` is the tensor's shape; its last axis is the channel axis. */
  observe(tensor: string, data: Float32Array, dims: readonly number[]): void {
    const channels = dims.at(-1)
    if (channels === undefined || channels < 1 || data.length % channels !== 0)
      throw new QuantError("bad-shape", tensor, `per-channel statistics need a tensor whose last axis divides its size; got dims [${dims.join(", ")}] for ${data.length} values`)
    let max = this.maxima.get(tensor)
    if (max === undefined) this.maxima.set(tensor, (max = new Float32Array(channels)))
    else if (max.length !== channels) throw new QuantError("bad-shape", tensor, `had ${max.length} channels in an earlier batch, now ${channels}`)
    let bad = 0
    for (let i = 0; i < data.length; i += channels) {
      for (let c = 0; c < channels; c++) {
        const v = data[i + c]!
        if (v - v !== 0) {
          bad++
          continue
        }
        const a = v < 0 ? -v : v
        if (a > max[c]!) max[c] = a
      }
    }
    if (bad > 0) this.nonFinite.set(tensor, (this.nonFinite.get(tensor) ?? 0) + bad)
  }

  tensors(): string[] {
    return [...this.maxima.keys()]
  }

  /** Max |x| per channel; throws when the tensor was never observed. */
  result(tensor: string): Float32Array {
    const max = this.maxima.get(tensor)
    if (max === undefined) throw new QuantError("no-observations", tensor, "this tensor was never observed")
    return max
  }

  nonFiniteCount(tensor: string): number {
    return this.nonFinite.get(tensor) ?? 0
  }
}
