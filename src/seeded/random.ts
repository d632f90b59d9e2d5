// Seeded pseudo-random numbers for synthetic fixtures. Every stream is derived from a seed and
// a label (e.g. a tensor name), so each tensor can be generated on its own, in any order, and
// the same options always give byte-identical files.

/** 32-bit FNV-1a of a string; mixes a label into a seed. */
const hashLabel = (label: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** SplitMix32 step: spreads a small seed over the four xoshiro state words. */
const splitMix32 = (state: { x: number }): number => {
  state.x = (state.x + 0x9e3779b9) | 0
  let z = state.x
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}

/** xoshiro128** generator with a cached Box-Muller partner for normals. */
export class SeededRandom {
  private s0: number
  private s1: number
  private s2: number
  private s3: number
  private spareNormal: number | undefined

  constructor(seed: number, label = "") {
    const mix = { x: (Math.trunc(seed) ^ hashLabel(label)) | 0 }
    // A second seed word keeps seeds that differ only above 32 bits apart.
    mix.x = (mix.x + Math.imul(Math.floor(seed / 0x100000000) | 0, 0x27d4eb2f)) | 0
    this.s0 = splitMix32(mix)
    this.s1 = splitMix32(mix)
    this.s2 = splitMix32(mix)
    this.s3 = splitMix32(mix)
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1
  }

  /** Uniform unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0
    const t = this.s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 0x100000000
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n)
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)]
    if (item === undefined) throw new RangeError("SeededRandom.pick: empty list")
    return item
  }

  /** Standard normal (Box-Muller, two values per pair of uniforms). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const spare = this.spareNormal
      this.spareNormal = undefined
      return spare
    }
    // 1 - u keeps the logarithm's argument in (0, 1].
    const radius = Math.sqrt(-2 * Math.log(1 - this.uniform()))
    const angle = 2 * Math.PI * this.uniform()
    this.spareNormal = radius * Math.sin(angle)
    return radius * Math.cos(angle)
  }

  /** Fills `out` with normal(mean, std) values. */
  fillNormal(out: Float32Array, mean: number, std: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal()
    return out
  }
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k))
