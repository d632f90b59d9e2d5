// The float64 reference forward of Qwen3Model for embedding, written from transformers' eager
// semantics independently of the graph builder, to check it: embed_tokens; per layer
// x + o(attn(RMSNorm(x))) then x + down(silu(gate) · up)(RMSNorm(x)); final RMSNorm. Attention:
// per-head q/k RMSNorm, rotary embeddings (rotate_half, θ^(−2i/d)), grouped-query heads (query
// head h reads key/value head ⌊h / groups⌋), scores · d^−½ with the lowest float32 where key j > i
// or j is padding, softmax. Positions are Qwen3Model's default: 0..L−1 over the padded row
// (transformers passes no position_ids), whatever side the padding is on.
import {
  checkBatch,
  clsEmbedding,
  lastTokenEmbedding,
  linear,
  matrix,
  meanEmbedding,
  type Matrix64,
  type ReferenceBatch,
  type ReferenceExtras,
  ReferenceForwardError,
  type ReferenceOptions,
  type ReferenceOutputs,
  softmaxInPlace,
  stack,
  stackStates,
  WeightLookup,
} from "../../reference/index.ts"
import type { LazyTensor } from "../../tensor/index.ts"
import type { FamilyTask } from "../family.ts"
import type { Qwen3Config } from "./config.ts"
import { embedWeight, finalNormWeight, layerWeights, qwen3WeightPrefixes, type WeightSpec } from "./weights.ts"

const lowestFloat32 = -3.4028234663852886e38

/** RMSNorm of each `width`-wide group of a row-major matrix's values. */
const rmsNorm = (x: Matrix64, weight: Float64Array, eps: number): Matrix64 => {
  const width = weight.length
  const y = matrix(x.rows, x.cols)
  for (let start = 0; start < x.data.length; start += width) {
    let sum = 0
    for (let i = 0; i < width; i++) sum += x.data[start + i]! ** 2
    const inv = 1 / Math.sqrt(sum / width + eps)
    for (let i = 0; i < width; i++) y.data[start + i] = x.data[start + i]! * inv * weight[i]!
  }
  return y
}

/** Rotates each head (width d) of row t by angles t · θ^(−2i/d). */
const applyRotary = (x: Matrix64, headDim: number, theta: number): Matrix64 => {
  const half = headDim / 2
  const y = matrix(x.rows, x.cols)
  for (let t = 0; t < x.rows; t++) {
    for (let head = 0; head < x.cols / headDim; head++) {
      const base = t * x.cols + head * headDim
      for (let i = 0; i < half; i++) {
        const angle = t / theta ** ((2 * i) / headDim)
        const [cos, sin] = [Math.cos(angle), Math.sin(angle)]
        const a = x.data[base + i]!
        const b = x.data[base + half + i]!
        y.data[base + i] = a * cos - b * sin
        y.data[base + half + i] = b * cos + a * sin
      }
    }
  }
  return y
}

const silu = (z: number): number => z / (1 + Math.exp(-z))

interface LayerWeights64 {
  readonly [key: string]: Float64Array
}

export const qwen3Reference = (
  config: Qwen3Config,
  weights: ReadonlyMap<string, LazyTensor>,
  _extras: ReferenceExtras,
  batch: ReferenceBatch,
  task: FamilyTask,
  options: ReferenceOptions = {},
): ReferenceOutputs => {
  if (task !== "embedding") throw new ReferenceForwardError("UnsupportedConfig", `qwen3 has no "${task}" head; it exports task "embedding"`)
  const sequences = checkBatch(batch, { vocabSize: config.vocabSize, typeVocabSize: 1 })
  const lookup = new WeightLookup(weights, qwen3WeightPrefixes)
  const load = (spec: WeightSpec) => lookup.float64(spec.name, spec.shape)
  const { hiddenSize: H, numHeads, numKeyValueHeads, headDim, intermediateSize: I, rmsNormEps: eps } = config
  const groups = numHeads / numKeyValueHeads
  const embed = lookup.float32(embedWeight(config).name, embedWeight(config).shape)
  let states = sequences.map((s) => {
    const x = matrix(s.inputIds.length, H)
    s.inputIds.forEach((id, t) => {
      for (let c = 0; c < H; c++) x.data[t * H + c] = embed[id * H + c]!
    })
    return x
  })
  const all: Matrix64[][] = [states]
  for (let layer = 0; layer < config.numLayers; layer++) {
    const spec = layerWeights(config, layer)
    const w: LayerWeights64 = Object.fromEntries(Object.entries(spec).map(([key, s]) => [key, load(s)]))
    states = states.map((x, b) => {
      const mask = sequences[b]!.attentionMask
      const L = x.rows
      const normed = rmsNorm(x, w.inputNorm!, eps)
      const q = applyRotary(rmsNorm(linear(normed, w.q!, undefined, numHeads * headDim), w.qNorm!, eps), headDim, config.ropeTheta)
      const k = applyRotary(rmsNorm(linear(normed, w.k!, undefined, numKeyValueHeads * headDim), w.kNorm!, eps), headDim, config.ropeTheta)
      const v = linear(normed, w.v!, undefined, numKeyValueHeads * headDim)
      const context = matrix(L, numHeads * headDim)
      const scores = new Float64Array(L)
      for (let h = 0; h < numHeads; h++) {
        const kvHead = Math.floor(h / groups)
        for (let i = 0; i < L; i++) {
          for (let j = 0; j < L; j++) {
            let dot = 0
            for (let d = 0; d < headDim; d++) dot += q.data[i * q.cols + h * headDim + d]! * k.data[j * k.cols + kvHead * headDim + d]!
            scores[j] = j <= i && mask[j] === 1 ? dot / Math.sqrt(headDim) : lowestFloat32
          }
          softmaxInPlace(scores, 0, L)
          for (let d = 0; d < headDim; d++) {
            let sum = 0
            for (let j = 0; j < L; j++) sum += scores[j]! * v.data[j * v.cols + kvHead * headDim + d]!
            context.data[i * context.cols + h * headDim + d] = sum
          }
        }
      }
      const attended = linear(context, w.o!, undefined, H)
      const mid = matrix(L, H, x.data.map((value, i) => value + attended.data[i]!))
      const normed2 = rmsNorm(mid, w.postNorm!, eps)
      const gate = linear(normed2, w.gate!, undefined, I)
      const up = linear(normed2, w.up!, undefined, I)
      const inner = matrix(L, I, gate.data.map((value, i) => silu(value) * up.data[i]!))
      const down = linear(inner, w.down!, undefined, H)
      return matrix(L, H, mid.data.map((value, i) => value + down.data[i]!))
    })
    all.push(states)
  }
  const last = states.map((x) => rmsNorm(x, load(finalNormWeight(config)), eps))
  const B = sequences.length
  return {
    lastHiddenState: stackStates(last),
    dense: stack(last.map(clsEmbedding), [B, H]),
    mean: stack(last.map((h, b) => meanEmbedding(h, sequences[b]!.attentionMask)), [B, H]),
    last: stack(last.map((h, b) => lastTokenEmbedding(h, sequences[b]!.attentionMask)), [B, H]),
    ...(options.hiddenStates ? { hiddenStates: [...all.slice(0, -1), last].map(stackStates) } : {}),
  }
}
