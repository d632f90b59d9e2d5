// Streaming min/max of activations across calibration batches (the "max" calibration method), and
// the one scan of a batch's finite range that it and AbsHistogram share. Non-finite values are
// counted rather than folded in, so one inf cannot blow up a range.

export interface BatchRange {
  readonly min: number
  readonly max: number
  /** NaN and ±inf values in the batch, left out of min and max. */
  readonly nonFinite: number
}

/** The finite min and max of `data`, folded into a running `min` / `max` (default: none yet). */
export const finiteRange = (data: Float32Array, min = Infinity, max = -Infinity): BatchRange => {
  const from = { min, max }
  let nonFinite = 0
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!
    if (v < min) min = v
    if (v > max) max = v
    // v - v is 0 for finite v, NaN for ±inf and NaN: one test catches all three.
    if (v - v !== 0) nonFinite++
  }
  if (nonFinite > 0) {
    // Rare path: redo the batch skipping the non-finite values.
    min = from.min
    max = from.max
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!
      if (v - v !== 0) continue
      if (v < min) min = v
      if (v > max) max = v
    }
  }
  return { min, max, nonFinite }
}

export class RangeObserver {
  min = Infinity
  max = -Infinity
  /** Finite values seen. */
  count = 0
  /** NaN and ±inf values seen and left out of the range. */
  nonFinite = 0

  observe(data: Float32Array): void {
    const { min, max, nonFinite } = finiteRange(data, this.min, this.max)
    this.min = min
    this.max = max
    this.count += data.length - nonFinite
    this.nonFinite += nonFinite
  }
}
