// GPTQ-style data-aware weight rounding (Frantar et al. 2022): the rows of a [K, N] weight (its input
// channels) are rounded one at a time and each rounding error is pushed onto the rows not yet rounded,
// weighted by the layer input's Hessian H = 2·XᵀX, so the layer's output error on calibration-like
// inputs shrinks. Scales are the nearest-rounding ones; only which int8 value each weight gets changes.

import type { ActivationObserver } from "./collect-activations.ts"
import type { GramSessions } from "./gram.ts"
import { QuantError } from "./quant-error.ts"
import { roundHalfToEven } from "./round.ts"
import type { QuantizedWeight } from "./weight-quant.ts"

/** Tokens buffered before they are folded into XᵀX: one pass over H per chunk keeps its rows in cache. */
const TOKEN_CHUNK = 64
/** Tokens per XᵀX block handed to ONNX Runtime (GramSessions): large enough to keep its GEMM busy. */
const GRAM_CHUNK = 512

interface HessianState {
  readonly k: number
  /** Upper triangle of Σ xᵀx (row-major [k, k]); the lower half is filled in by `result`. */
  readonly sum: Float64Array
  readonly chunk: Float64Array
  buffered: number
  tokens: number
  /** Full blocks of rows waiting for `settle` (with a GramSessions), and the block being filled. */
  readonly blocks: Float32Array[]
  block: Float32Array
  blockRows: number
}

/**
 * Σ xᵀx over every row (token) of each observed activation, in float64. Feed it real tokens only
 * (collectActivations with ignorePadding: true): padding rows would teach it inputs the model never sees.
 * With `gram`, blocks of rows go to ONNX Runtime as they fill (`settle`, which collectActivations
 * awaits after every sample); without it, a JavaScript loop folds them in.
 */
export class HessianAccumulator implements ActivationObserver {
  private readonly states = new Map<string, HessianState>()
  /** Milliseconds spent folding tokens into the sums. */
  milliseconds = 0

  constructor(private readonly gram?: GramSessions) {}

  /** Sends every full block (and, with `all`, the partial ones) through ONNX Runtime into the sums. */
  async settle(all = false): Promise<void> {
    if (this.gram === undefined) return
    const started = performance.now()
    for (const state of this.states.values()) {
      if (all && state.blockRows > 0) {
        state.blocks.push(state.block.slice(0, state.blockRows * state.k))
        state.blockRows = 0
      }
      for (let rows = state.blocks.shift(); rows !== undefined; rows = state.blocks.shift()) {
        const g = await this.gram.gram(rows, state.k)
        for (let i = 0; i < g.length; i++) state.sum[i]! += g[i]!
      }
    }
    this.milliseconds += performance.now() - started
  }

  observe(tensor: string, data: Float32Array, dims: readonly number[]): void {
    const k = dims.at(-1)
    if (k === undefined || k === 0 || data.length % k !== 0)
      throw new QuantError("bad-shape", tensor, `expected an activation [..., channels] to accumulate a Hessian, got dims [${dims.join(", ")}] with ${data.length} values`)
    let state = this.states.get(tensor)
    if (state === undefined) {
      const gram = this.gram !== undefined
      state = { k, sum: new Float64Array(k * k), chunk: new Float64Array(gram ? 0 : TOKEN_CHUNK * k), buffered: 0, tokens: 0, blocks: [], block: new Float32Array(gram ? GRAM_CHUNK * k : 0), blockRows: 0 }
      this.states.set(tensor, state)
    }
    if (state.k !== k) throw new QuantError("bad-shape", tensor, `activation has ${k} channels here but ${state.k} in an earlier sample`)
    const started = performance.now()
    for (let row = 0; row < data.length; row += k) {
      state.tokens++
      if (this.gram !== undefined) {
        state.block.set(data.subarray(row, row + k), state.blockRows * k)
        if (++state.blockRows === GRAM_CHUNK) {
          state.blocks.push(state.block)
          state.block = new Float32Array(GRAM_CHUNK * k)
          state.blockRows = 0
        }
        continue
      }
      state.chunk.set(data.subarray(row, row + k), state.buffered * k)
      state.buffered++
      if (state.buffered === TOKEN_CHUNK) fold(state)
    }
    this.milliseconds += performance.now() - started
  }

  tokens(tensor: string): number {
    return this.states.get(tensor)?.tokens ?? 0
  }

  /** H = 2·XᵀX of a tensor as a full symmetric [k, k] matrix, or undefined when it was never observed. With a GramSessions, `settle(true)` first. */
  result(tensor: string): Float64Array | undefined {
    const state = this.states.get(tensor)
    if (state === undefined || state.tokens === 0) return undefined
    if (state.blocks.length > 0 || state.blockRows > 0) throw new QuantError("bad-params", tensor, "internal error: Hessian read before its blocks were settled")
    const started = performance.now()
    fold(state)
    const { k, sum } = state
    const h = new Float64Array(k * k)
    for (let i = 0; i < k; i++)
      for (let j = i; j < k; j++) {
        const v = 2 * sum[i * k + j]!
        h[i * k + j] = v
        h[j * k + i] = v
      }
    this.milliseconds += performance.now() - started
    return h
  }
}

/** Adds the buffered tokens' outer products to the upper triangle, one H row at a time. */
const fold = (state: HessianState): void => {
  const { k, sum, chunk, buffered } = state
  for (let i = 0; i < k; i++) {
    const rowStart = i * k
    for (let t = 0; t < buffered; t++) {
      const x = t * k
      const xi = chunk[x + i]!
      if (xi === 0) continue
      for (let j = i; j < k; j++) sum[rowStart + j]! += xi * chunk[x + j]!
    }
  }
  state.buffered = 0
}

export interface GptqOptions {
  /** Added to H's diagonal as a share of its mean diagonal, so H is safely positive definite. */
  readonly damp?: number
  /** Rows rounded per block before their error is pushed onto the remaining rows at once. */
  readonly block?: number
  /**
   * Round input channels in order of decreasing Hessian diagonal (GPTQ's "act order", default true):
   * the channels carrying the most input energy go first, while every later row can still absorb
   * their error.
   */
  readonly actOrder?: boolean
}

/**
 * A = P·chol(P·H·P)·P with P the index reversal: upper triangular with H = A·Aᵀ. Then A⁻¹ is the upper
 * Cholesky factor of H⁻¹ that GPTQ propagates with, and the error updates can be written with A
 * itself, so H⁻¹ is never formed (one K³/3 factorisation instead of a factorisation, an inverse and another factorisation).
 */
const reversedCholesky = (h: Float64Array, k: number, subject: string): Float64Array => {
  // L lower with L·Lᵀ = P·H·P, computed in place on a reversed copy; then A[i][j] = L[k-1-i][k-1-j].
  const l = new Float64Array(k * k)
  for (let i = 0; i < k; i++) for (let j = 0; j <= i; j++) l[i * k + j] = h[(k - 1 - i) * k + (k - 1 - j)]!
  for (let j = 0; j < k; j++) {
    const rj = j * k
    let d = l[rj + j]!
    for (let p = 0; p < j; p++) d -= l[rj + p]! * l[rj + p]!
    if (!(d > 0)) throw new QuantError("bad-params", subject, "the calibration Hessian is not positive definite even after dampening (non-finite activations?)")
    d = Math.sqrt(d)
    l[rj + j] = d
    for (let i = j + 1; i < k; i++) {
      const ri = i * k
      let s = l[ri + j]!
      for (let p = 0; p < j; p++) s -= l[ri + p]! * l[rj + p]!
      l[ri + j] = s / d
    }
  }
  const a = new Float64Array(k * k)
  for (let i = 0; i < k; i++) for (let j = i; j < k; j++) a[i * k + j] = l[(k - 1 - i) * k + (k - 1 - j)]!
  return a
}

/**
 * GPTQ rounding of a row-major [rows = K inputs, cols = N outputs] weight against the Hessian of its
 * input, keeping `scales` (one per column, or one for all). With H = A·Aᵀ (A upper), rounding row k
 * after rows < k were rounded with errors d_j = w_j − q_j targets w_k + Σ_{j<k} A[j][k]·d_j / A[k][k],
 * which is GPTQ's sequential update expressed without H⁻¹.
 */
export const gptqRoundColumns = (data: Float32Array, rows: number, cols: number, scales: Float32Array, hessian: Float64Array, subject: string, options: GptqOptions = {}): QuantizedWeight => {
  if (data.length !== rows * cols) throw new QuantError("bad-shape", subject, `expected ${rows}×${cols} weight values, got ${data.length}`)
  if (hessian.length !== rows * rows) throw new QuantError("bad-shape", subject, `the Hessian of its input has ${Math.round(Math.sqrt(hessian.length))} channels, expected ${rows} (the weight's rows)`)
  if (scales.length !== 1 && scales.length !== cols) throw new QuantError("bad-params", subject, `expected 1 or ${cols} scales, got ${scales.length}`)
  if (options.actOrder === false) return roundInOrder(data, rows, cols, scales, hessian, subject, options)
  const order = Array.from({ length: rows }, (_, i) => i).sort((a, b) => hessian[b * rows + b]! - hessian[a * rows + a]! || a - b)
  const permuted = new Float32Array(rows * cols)
  for (let r = 0; r < rows; r++) permuted.set(data.subarray(order[r]! * cols, (order[r]! + 1) * cols), r * cols)
  const h = new Float64Array(rows * rows)
  for (let i = 0; i < rows; i++) for (let j = 0; j < rows; j++) h[i * rows + j] = hessian[order[i]! * rows + order[j]!]!
  const rounded = roundInOrder(permuted, rows, cols, scales, h, subject, options)
  const q = new Int8Array(rows * cols)
  for (let r = 0; r < rows; r++) q.set(rounded.data.subarray(r * cols, (r + 1) * cols), order[r]! * cols)
  return { data: q, scales }
}

/** GPTQ over the rows in their stored order. */
const roundInOrder = (data: Float32Array, rows: number, cols: number, scales: Float32Array, hessian: Float64Array, subject: string, options: GptqOptions): QuantizedWeight => {
  const damp = options.damp ?? 0.01
  const block = Math.max(1, options.block ?? 128)
  const k = rows
  const h = Float64Array.from(hessian)
  let meanDiag = 0
  for (let i = 0; i < k; i++) meanDiag += h[i * k + i]!
  meanDiag /= k
  const lift = damp * (meanDiag > 0 ? meanDiag : 1)
  for (let i = 0; i < k; i++) {
    // An input channel that was always 0 in calibration: its rows get nearest rounding (no coupling).
    if (h[i * k + i] === 0) {
      for (let j = 0; j < k; j++) h[i * k + j] = h[j * k + i] = 0
      h[i * k + i] = 1
    }
    h[i * k + i]! += lift
  }
  const a = reversedCholesky(h, k, subject)

  const perColumn = scales.length === cols
  const inverse = new Float64Array(cols)
  for (let c = 0; c < cols; c++) inverse[c] = 1 / (perColumn ? scales[c]! : scales[0]!)
  const q = new Int8Array(rows * cols)
  // Pushed error Σ_j A[j][k]·d_j for each not-yet-rounded row k, and the errors d of the current block.
  const pushed = new Float64Array(rows * cols)
  const errors = new Float64Array(block * cols)
  for (let start = 0; start < k; start += block) {
    const end = Math.min(k, start + block)
    for (let r = start; r < end; r++) {
      const akk = a[r * k + r]!
      const row = r * cols
      const e = (r - start) * cols
      for (let c = 0; c < cols; c++) {
        const target = data[row + c]! + pushed[row + c]! / akk
        const scale = perColumn ? scales[c]! : scales[0]!
        const level = Math.max(-127, Math.min(127, roundHalfToEven(target * inverse[c]!)))
        q[row + c] = level
        errors[e + c] = data[row + c]! - level * scale
      }
      // Within the block, push this row's error onto the block's later rows right away.
      for (let later = r + 1; later < end; later++) {
        const f = a[r * k + later]!
        if (f === 0) continue
        const target = later * cols
        for (let c = 0; c < cols; c++) pushed[target + c]! += f * errors[e + c]!
      }
    }
    // The whole block's errors onto every row after it, one destination row at a time (stays in cache).
    for (let later = end; later < k; later++) {
      const target = later * cols
      for (let r = start; r < end; r++) {
        const f = a[r * k + later]!
        if (f === 0) continue
        const e = (r - start) * cols
        for (let c = 0; c < cols; c++) pushed[target + c]! += f * errors[e + c]!
      }
    }
  }
  return { data: q, scales }
}

/** Rounds the weights of the int8 rewrite with GPTQ, each against the Hessian of the activation it multiplies. */
export class GptqWeightRounder {
  /** Milliseconds spent factorising Hessians and rounding. */
  milliseconds = 0
  /** Weights rounded so far. */
  weights = 0

  constructor(
    private readonly hessians: HessianAccumulator,
    private readonly options: GptqOptions = {},
  ) {}

  /** `nearest` supplies the scales (and the answer when the weight has a single row). */
  round(weight: string, activation: string, data: Float32Array, rows: number, cols: number, nearest: QuantizedWeight): QuantizedWeight {
    const started = performance.now()
    // Not cached: a [K, K] float64 copy is cheap next to the factorisation, and a model's worth of them is not.
    const h = this.hessians.result(activation)
    if (h === undefined) throw new QuantError("no-observations", activation, `weightRounding "gptq" needs this activation observed on calibration samples to round ${weight}, but it never was`)
    const rounded = gptqRoundColumns(data, rows, cols, nearest.scales, h, weight, this.options)
    this.milliseconds += performance.now() - started
    this.weights++
    return rounded
  }
}
