// The encoder body of BertModel / XLMRobertaModel in float64, following Hugging Face eager
// semantics: embeddings → LayerNorm, then per layer self-attention with an additive
// float32-min mask, residual + LayerNorm, GELU feed-forward, residual + LayerNorm.

import type { EncoderConfig } from "../checkpoint/encoder-config.ts"
import { ReferenceForwardError } from "./errors.ts"
import { add, geluErf, geluTanh, layerNorm, linear, mapInPlace, matrix, relu, softmaxInPlace, type Matrix64 } from "./math.ts"
import { bertPositionIds, xlmRobertaPositionIds } from "./position-ids.ts"
import type { WeightLookup } from "./weights.ts"

/** What HF adds to the scores of masked keys: torch.finfo(float32).min. */
export const float32Min = -3.4028234663852886e38

/** One tokenized sequence, already checked against the config. */
export interface EncoderSequence {
  readonly inputIds: readonly number[]
  readonly attentionMask: readonly number[]
  readonly tokenTypeIds: readonly number[]
}

const activationOf = (config: EncoderConfig): ((x: number) => number) => {
  switch (config.hiddenAct) {
    case "gelu":
      return geluErf
    case "gelu_new":
      return geluTanh
    case "relu":
      return relu
  }
}

/** word + position + token-type embeddings, then LayerNorm; one matrix [L, H] per sequence. */
export const embed = (config: EncoderConfig, weights: WeightLookup, sequences: readonly EncoderSequence[]): Matrix64[] => {
  const H = config.hiddenSize
  const wordTable = weights.float32("embeddings.word_embeddings.weight", [config.vocabSize, H])
  const positionTable = weights.float64("embeddings.position_embeddings.weight", [config.maxPositions, H])
  const typeTable = weights.float64("embeddings.token_type_embeddings.weight", [config.typeVocabSize, H])
  const gamma = weights.float64("embeddings.LayerNorm.weight", [H])
  const beta = weights.float64("embeddings.LayerNorm.bias", [H])
  return sequences.map((sequence) => {
    const L = sequence.inputIds.length
    const positions =
      config.modelType === "xlm-roberta" ? xlmRobertaPositionIds(sequence.inputIds, config.padTokenId) : bertPositionIds(L)
    const x = matrix(L, H)
    for (let t = 0; t < L; t++) {
      const word = sequence.inputIds[t]! * H
      const position = positions[t]! * H
      const type = sequence.tokenTypeIds[t]! * H
      for (let c = 0; c < H; c++) {
        x.data[t * H + c] = wordTable[word + c]! + positionTable[position + c]! + typeTable[type + c]!
      }
    }
    return layerNorm(x, gamma, beta, config.layerNormEps)
  })
}

/** The weights of one encoder layer, widened to float64 once and shared by the whole batch. */
interface LayerWeights {
  readonly query: readonly [Float64Array, Float64Array]
  readonly key: readonly [Float64Array, Float64Array]
  readonly value: readonly [Float64Array, Float64Array]
  readonly attentionOut: readonly [Float64Array, Float64Array]
  readonly attentionNorm: readonly [Float64Array, Float64Array]
  readonly intermediate: readonly [Float64Array, Float64Array]
  readonly output: readonly [Float64Array, Float64Array]
  readonly outputNorm: readonly [Float64Array, Float64Array]
}

const loadLayer = (config: EncoderConfig, weights: WeightLookup, index: number): LayerWeights => {
  const H = config.hiddenSize
  const I = config.intermediateSize
  const p = `encoder.layer.${index}.`
  const dense = (name: string, out: number, inp: number) =>
    [weights.float64(`${p}${name}.weight`, [out, inp]), weights.float64(`${p}${name}.bias`, [out])] as const
  const norm = (name: string) => [weights.float64(`${p}${name}.weight`, [H]), weights.float64(`${p}${name}.bias`, [H])] as const
  return {
    query: dense("attention.self.query", H, H),
    key: dense("attention.self.key", H, H),
    value: dense("attention.self.value", H, H),
    attentionOut: dense("attention.output.dense", H, H),
    attentionNorm: norm("attention.output.LayerNorm"),
    intermediate: dense("intermediate.dense", I, H),
    output: dense("output.dense", H, I),
    outputNorm: norm("output.LayerNorm"),
  }
}

/**
 * Multi-head scaled dot-product self-attention (before the output projection): for each head,
 * softmax(Q·Kᵀ/√d + mask)·V, heads concatenated back to [L, H].
 */
export const selfAttention = (q: Matrix64, k: Matrix64, v: Matrix64, attentionMask: readonly number[], numHeads: number): Matrix64 => {
  const L = q.rows
  const H = q.cols
  const d = H / numHeads
  const scale = 1 / Math.sqrt(d)
  const maskAdd = attentionMask.map((m) => (1 - m) * float32Min)
  const context = matrix(L, H)
  const scores = new Float64Array(L)
  for (let h = 0; h < numHeads; h++) {
    const headOffset = h * d
    for (let i = 0; i < L; i++) {
      for (let j = 0; j < L; j++) {
        let dot = 0
        for (let c = 0; c < d; c++) dot += q.data[i * H + headOffset + c]! * k.data[j * H + headOffset + c]!
        scores[j] = dot * scale + maskAdd[j]!
      }
      softmaxInPlace(scores, 0, L)
      for (let c = 0; c < d; c++) {
        let sum = 0
        for (let j = 0; j < L; j++) sum += scores[j]! * v.data[j * H + headOffset + c]!
        context.data[i * H + headOffset + c] = sum
      }
    }
  }
  return context
}

const encoderLayer = (config: EncoderConfig, layer: LayerWeights, x: Matrix64, attentionMask: readonly number[]): Matrix64 => {
  const H = config.hiddenSize
  const q = linear(x, layer.query[0], layer.query[1], H)
  const k = linear(x, layer.key[0], layer.key[1], H)
  const v = linear(x, layer.value[0], layer.value[1], H)
  const context = selfAttention(q, k, v, attentionMask, config.numHeads)
  const attended = layerNorm(add(linear(context, layer.attentionOut[0], layer.attentionOut[1], H), x), ...layer.attentionNorm, config.layerNormEps)
  const inner = mapInPlace(linear(attended, layer.intermediate[0], layer.intermediate[1], config.intermediateSize), activationOf(config))
  return layerNorm(add(linear(inner, layer.output[0], layer.output[1], H), attended), ...layer.outputNorm, config.layerNormEps)
}

/**
 * Runs the embeddings and every layer, one layer's weights in memory at a time. Returns the
 * hidden states after the embeddings and after each layer when `keepAll`, else only the last
 * (last_hidden_state); each entry holds one [L, H] matrix per sequence.
 */
export const runEncoder = (
  config: EncoderConfig,
  weights: WeightLookup,
  sequences: readonly EncoderSequence[],
  keepAll = false,
): Matrix64[][] => {
  if (config.hiddenSize % config.numHeads !== 0) {
    throw new ReferenceForwardError(
      "UnsupportedConfig",
      `hidden_size ${config.hiddenSize} is not divisible by num_attention_heads ${config.numHeads}`,
    )
  }
  const states: Matrix64[][] = [embed(config, weights, sequences)]
  for (let index = 0; index < config.numLayers; index++) {
    const layer = loadLayer(config, weights, index)
    const previous = states[states.length - 1]!
    const next = previous.map((x, b) => encoderLayer(config, layer, x, sequences[b]!.attentionMask))
    if (keepAll) states.push(next)
    else states[0] = next
  }
  return states
}
