// Seeded random numbers for the quant tests, so every fixture is reproducible.

/** Uniform [0, 1) from a 32-bit seed (mulberry32). */
export const seededRandom = (seed: number): (() => number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** Standard normal samples (Box–Muller) from a uniform source. */
export const gaussian = (random: () => number): (() => number) => () => {
  const u = 1 - random()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random())
}
