// The float64 reference forward of BertModel / XLMRobertaModel, following Hugging Face eager
// semantics: embeddings (the variant's position ids) → LayerNorm, then per layer self-attention
// with an additive float32-min mask, residual + LayerNorm, GELU feed-forward, residual + LayerNorm;
// then the BGE outputs of the task (CLS / mean / last-token embeddings, reranker logits, bge-m3's
// sparse and ColBERT heads). Written independently of the graph builder, to check it.

import {
  add,
  checkBatch,
  clsEmbedding,
  colbertVectors,
  geluErf,
  geluTanh,
  lastTokenEmbedding,
  layerNorm,
  linear,
  mapInPlace,
  matrix,
  meanEmbedding,
  type Matrix64,
  type ReferenceBatch,
  type ReferenceExtras,
  ReferenceForwardError,
  type ReferenceOptions,
  type ReferenceOutputs,
  type ReferenceSequence,
  relu,
  softmaxInPlace,
  sparseTokenWeights,
  stack,
  stackStates,
  WeightLookup,
} from "../../reference/index.ts"
import type { LazyTensor } from "../../tensor/index.ts"
import type { FamilyTask } from "../family.ts"
import type { EncoderConfig } from "./config.ts"
import type { EncoderVariant } from "./variant.ts"

/** What HF adds to the scores of masked keys: torch.finfo(float32).min. */
export const float32Min = -3.4028234663852886e38

type EncoderSequence = ReferenceSequence

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
const embed = (variant: EncoderVariant, config: EncoderConfig, weights: WeightLookup, sequences: readonly EncoderSequence[]): Matrix64[] => {
  const H = config.hiddenSize
  const wordTable = weights.float32("embeddings.word_embeddings.weight", [config.vocabSize, H])
  const positionTable = weights.float64("embeddings.position_embeddings.weight", [config.maxPositions, H])
  const typeTable = weights.float64("embeddings.token_type_embeddings.weight", [config.typeVocabSize, H])
  const gamma = weights.float64("embeddings.LayerNorm.weight", [H])
  const beta = weights.float64("embeddings.LayerNorm.bias", [H])
  return sequences.map((sequence) => {
    const L = sequence.inputIds.length
    const positions = variant.positionIds(sequence.inputIds, config.padTokenId)
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
const runEncoder = (
  variant: EncoderVariant,
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
  const states: Matrix64[][] = [embed(variant, config, weights, sequences)]
  for (let index = 0; index < config.numLayers; index++) {
    const layer = loadLayer(config, weights, index)
    const previous = states[states.length - 1]!
    const next = previous.map((x, b) => encoderLayer(config, layer, x, sequences[b]!.attentionMask))
    if (keepAll) states.push(next)
    else states[0] = next
  }
  return states
}

const firstToken = (hidden: Matrix64): Matrix64 => matrix(1, hidden.cols, hidden.data.slice(0, hidden.cols))

/**
 * Sequence-classification logits from the first token. XLM-R (RobertaClassificationHead):
 * classifier.dense → tanh → classifier.out_proj. BERT: pooler.dense → tanh → classifier.
 */
export const rerankerLogits = (config: EncoderConfig, weights: WeightLookup, hidden: Matrix64): Float64Array => {
  const H = config.hiddenSize
  const robertaHead = weights.has("classifier.dense.weight")
  const [denseName, outName] = robertaHead ? ["classifier.dense", "classifier.out_proj"] : ["pooler.dense", "classifier"]
  const labels = config.numLabels > 0 ? config.numLabels : (weights.find(`${outName}.weight`)?.shape[0] ?? 1)
  const pooled = mapInPlace(
    linear(firstToken(hidden), weights.float64(`${denseName}.weight`, [H, H]), weights.float64(`${denseName}.bias`, [H]), H),
    Math.tanh,
  )
  return linear(pooled, weights.float64(`${outName}.weight`, [labels, H]), weights.float64(`${outName}.bias`, [labels]), labels).data
}

const headLinear = (
  name: "sparse_linear" | "colbert_linear",
  extra: ReadonlyMap<string, LazyTensor> | undefined,
  main: WeightLookup,
  hiddenSize: number,
): { weight: Float64Array; bias: Float64Array; outFeatures: number } => {
  const lookup = extra ? new WeightLookup(extra, [], `${name}.pt`) : main
  const prefix = extra ? "" : `${name}.`
  const weightTensor = lookup.find(`${prefix}weight`)
  if (!weightTensor) {
    throw new ReferenceForwardError(
      "MissingWeight",
      `task "m3" needs ${name}: pass extras.${name === "sparse_linear" ? "sparseLinear" : "colbertLinear"} (the ${name}.pt tensors) or include ${name}.weight in the weights`,
    )
  }
  const outFeatures = weightTensor.shape[0] ?? 0
  return {
    weight: lookup.float64(`${prefix}weight`, [outFeatures, hiddenSize]),
    bias: lookup.float64(`${prefix}bias`, [outFeatures]),
    outFeatures,
  }
}

/**
 * Float64 forward of BertModel / XLMRobertaModel with Hugging Face semantics. Weight names may
 * carry the prefixes of the family's wrapper classes (`bert.` / `roberta.`).
 */
export const encoderReference = (
  variant: EncoderVariant,
  config: EncoderConfig,
  weights: ReadonlyMap<string, LazyTensor>,
  extras: ReferenceExtras,
  batch: ReferenceBatch,
  task: FamilyTask,
  options: ReferenceOptions = {},
): ReferenceOutputs => {
  const sequences = checkBatch(batch, config)
  sequences.forEach((sequence, b) => {
    const lastPosition = Math.max(...variant.positionIds(sequence.inputIds, config.padTokenId))
    if (lastPosition >= config.maxPositions) {
      throw new ReferenceForwardError(
        "InvalidBatch",
        `batch row ${b} needs position id ${lastPosition} but max_position_embeddings is ${config.maxPositions}; truncate the input`,
      )
    }
  })
  const lookup = new WeightLookup(weights, variant.weightPrefixes)
  const states = runEncoder(variant, config, lookup, sequences, options.hiddenStates === true)
  const last = states[states.length - 1]!
  const B = sequences.length
  const L = sequences[0]!.inputIds.length
  const H = config.hiddenSize
  const outputs: {
    -readonly [K in keyof ReferenceOutputs]: ReferenceOutputs[K]
  } = {
    lastHiddenState: stackStates(last),
    dense: stack(last.map(clsEmbedding), [B, H]),
    mean: stack(
      last.map((h, b) => meanEmbedding(h, sequences[b]!.attentionMask)),
      [B, H],
    ),
    last: stack(
      last.map((h, b) => lastTokenEmbedding(h, sequences[b]!.attentionMask)),
      [B, H],
    ),
  }
  if (options.hiddenStates) outputs.hiddenStates = states.map(stackStates)
  if (task === "reranker") {
    const logits = last.map((h) => rerankerLogits(config, lookup, h))
    outputs.logits = stack(logits, [B, logits[0]!.length])
  }
  if (task === "m3") {
    const sparse = headLinear("sparse_linear", extras.sparseLinear, lookup, H)
    if (sparse.outFeatures !== 1) {
      throw new ReferenceForwardError("WeightShape", `sparse_linear.weight has ${sparse.outFeatures} outputs, expected 1`)
    }
    const colbert = headLinear("colbert_linear", extras.colbertLinear, lookup, H)
    outputs.sparse = stack(
      last.map((h) => sparseTokenWeights(h, sparse.weight, sparse.bias)),
      [B, L],
    )
    outputs.colbert = stack(
      last.map((h, b) => colbertVectors(h, sequences[b]!.attentionMask, colbert.weight, colbert.bias, colbert.outFeatures).data),
      [B, L - 1, colbert.outFeatures],
    )
  }
  return outputs
}
