// Float64 building blocks of the encoder forward, written out plainly so each can be checked
// by hand: erf/GELU, LayerNorm, Linear with PyTorch [out, in] weights, softmax, L2 normalise.

/** Activations of one sequence: `rows` vectors of `cols` values, row-major. */
export interface Matrix64 {
  readonly rows: number
  readonly cols: number
  readonly data: Float64Array
}

export const matrix = (rows: number, cols: number, data = new Float64Array(rows * cols)): Matrix64 => ({ rows, cols, data })

/**
 * erf(x) to double precision. Uses erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)),
 * whose terms are all positive (no cancellation); past |x| = 6 erf is ±1 in float64.
 */
export const erf = (x: number): number => {
  if (Number.isNaN(x)) return Number.NaN
  const ax = Math.abs(x)
  if (ax >= 6) return Math.sign(x)
  let term = ax
  let sum = ax
  for (let n = 1; n < 500; n++) {
    term *= (2 * ax * ax) / (2 * n + 1)
    sum += term
    if (term < sum * 1e-17) break
  }
  const value = (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum
  return x < 0 ? -value : value
}

/** GELU, exact (erf) form: Hugging Face's "gelu". */
export const geluErf = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2))

/** GELU, tanh approximation: Hugging Face's "gelu_new". */
export const geluTanh = (x: number): number =>
  0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)))

export const relu = (x: number): number => (x > 0 ? x : 0)

/** y = x·Wᵀ + b with W stored [out, in] as PyTorch Linear keeps it. */
export const linear = (x: Matrix64, weight: Float64Array, bias: Float64Array | undefined, outFeatures: number): Matrix64 => {
  const inFeatures = x.cols
  const y = matrix(x.rows, outFeatures)
  for (let r = 0; r < x.rows; r++) {
    const xOffset = r * inFeatures
    for (let o = 0; o < outFeatures; o++) {
      const wOffset = o * inFeatures
      let sum = bias ? bias[o]! : 0
      for (let i = 0; i < inFeatures; i++) sum += x.data[xOffset + i]! * weight[wOffset + i]!
      y.data[r * outFeatures + o] = sum
    }
  }
  return y
}

/** LayerNorm over each row: (x − mean) / √(biased var + eps) · γ + β. */
export const layerNorm = (x: Matrix64, gamma: Float64Array, beta: Float64Array, eps: number): Matrix64 => {
  const y = matrix(x.rows, x.cols)
  for (let r = 0; r < x.rows; r++) {
    const offset = r * x.cols
    let mean = 0
    for (let c = 0; c < x.cols; c++) mean += x.data[offset + c]!
    mean /= x.cols
    let variance = 0
    for (let c = 0; c < x.cols; c++) variance += (x.data[offset + c]! - mean) ** 2
    variance /= x.cols
    const inv = 1 / Math.sqrt(variance + eps)
    for (let c = 0; c < x.cols; c++) y.data[offset + c] = (x.data[offset + c]! - mean) * inv * gamma[c]! + beta[c]!
  }
  return y
}

/** Element-wise a + b (residual connections). */
export const add = (a: Matrix64, b: Matrix64): Matrix64 => {
  const y = matrix(a.rows, a.cols)
  for (let i = 0; i < a.data.length; i++) y.data[i] = a.data[i]! + b.data[i]!
  return y
}

export const mapInPlace = (x: Matrix64, f: (value: number) => number): Matrix64 => {
  for (let i = 0; i < x.data.length; i++) x.data[i] = f(x.data[i]!)
  return x
}

/** Numerically stable softmax of `values[offset .. offset+length)`, in place. */
export const softmaxInPlace = (values: Float64Array, offset: number, length: number): void => {
  let max = -Infinity
  for (let i = 0; i < length; i++) max = Math.max(max, values[offset + i]!)
  let sum = 0
  for (let i = 0; i < length; i++) {
    const e = Math.exp(values[offset + i]! - max)
    values[offset + i] = e
    sum += e
  }
  for (let i = 0; i < length; i++) values[offset + i] = values[offset + i]! / sum
}

/** v / max(‖v‖₂, eps), as torch.nn.functional.normalize (eps 1e-12). */
export const l2Normalize = (v: Float64Array, eps = 1e-12): Float64Array => {
  let norm = 0
  for (const value of v) norm += value * value
  const denominator = Math.max(Math.sqrt(norm), eps)
  return v.map((value) => value / denominator)
}
