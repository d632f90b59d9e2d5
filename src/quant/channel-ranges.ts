// Streaming min and max per channel (the last axis) of activations across calibration batches: what
// smoothing needs to see which hidden channels carry outliers (max |x|) and where each channel's
// range is centred (its shift). Non-finite values are counted and left out, as in RangeObserver.

import { QuantError } from "./quant-error.ts"

/** Per-channel extremes of one activation. */
export interface ChannelRange {
  readonly min: Float32Array
  readonly max: Float32Array
}

/** max(|min_j|, |max_j|) per channel. */
export const channelAbsMax = (range: ChannelRange): Float32Array => Float32Array.from(range.max, (hi, j) => Math.max(Math.abs(hi), Math.abs(range.min[j]!)))

export class ChannelRanges {
  private readonly ranges = new Map<string, { min: Float32Array; max: Float32Array }>()
  private readonly nonFinite = new Map<string, number>()

  /** `dims` is the tensor's shape; its last axis is the channel axis. */
  observe(tensor: string, data: Float32Array, dims: readonly number[]): void {
    const channels = dims.at(-1)
    if (channels === undefined || channels < 1 || data.length % channels !== 0)
      throw new QuantError("bad-shape", tensor, `per-channel statistics need a tensor whose last axis divides its size; got dims [${dims.join(", ")}] for ${data.length} values`)
    let range = this.ranges.get(tensor)
    if (range === undefined) this.ranges.set(tensor, (range = { min: new Float32Array(channels).fill(Infinity), max: new Float32Array(channels).fill(-Infinity) }))
    else if (range.max.length !== channels) throw new QuantError("bad-shape", tensor, `had ${range.max.length} channels in an earlier batch, now ${channels}`)
    const { min, max } = range
    let bad = 0
    for (let i = 0; i < data.length; i += channels) {
      for (let c = 0; c < channels; c++) {
        const v = data[i + c]!
        if (v - v !== 0) {
          bad++
          continue
        }
        if (v < min[c]!) min[c] = v
        if (v > max[c]!) max[c] = v
      }
    }
    if (bad > 0) this.nonFinite.set(tensor, (this.nonFinite.get(tensor) ?? 0) + bad)
  }

  tensors(): string[] {
    return [...this.ranges.keys()]
  }

  /** Min and max per channel (0 for a channel that only ever held non-finite values); throws when the tensor was never observed. */
  result(tensor: string): ChannelRange {
    const range = this.ranges.get(tensor)
    if (range === undefined) throw new QuantError("no-observations", tensor, "this tensor was never observed")
    const finite = (v: number) => (Number.isFinite(v) ? v : 0)
    return { min: range.min.map(finite), max: range.max.map(finite) }
  }

  nonFiniteCount(tensor: string): number {
    return this.nonFinite.get(tensor) ?? 0
  }
}
