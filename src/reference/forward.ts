// referenceForward: the independent float64 answer an exported ONNX model is checked against —
// last_hidden_state plus the BGE outputs of the task (dense/mean embeddings, reranker logits,
// bge-m3 sparse and ColBERT heads).

import type { EncoderConfig } from "../checkpoint/encoder-config.ts"
import type { LazyTensor } from "../tensor/index.ts"
import { runEncoder, type EncoderSequence } from "./encoder.ts"
import { ReferenceForwardError } from "./errors.ts"
import { clsEmbedding, colbertVectors, meanEmbedding, rerankerLogits, sparseTokenWeights } from "./heads.ts"
import type { Matrix64 } from "./math.ts"
import { xlmRobertaPositionIds } from "./position-ids.ts"
import { WeightLookup } from "./weights.ts"

export type ReferenceTask = "embedding" | "reranker" | "m3"

export interface ReferenceBatch {
  readonly inputIds: readonly (readonly number[])[]
  readonly attentionMask: readonly (readonly number[])[]
  /** Zeros when absent, as Hugging Face does. */
  readonly tokenTypeIds?: readonly (readonly number[])[]
}

/** bge-m3's separate head files; their keys are `weight` and `bias`. */
export interface ReferenceExtras {
  /** sparse_linear.pt: Linear(hidden, 1). Falls back to `sparse_linear.*` in the main weights. */
  readonly sparseLinear?: ReadonlyMap<string, LazyTensor>
  /** colbert_linear.pt: Linear(hidden, dim). Falls back to `colbert_linear.*` in the main weights. */
  readonly colbertLinear?: ReadonlyMap<string, LazyTensor>
}

export interface ReferenceOptions {
  /** Also return the hidden states after the embeddings and after every layer. */
  readonly hiddenStates?: boolean
}

/** A float64 result, row-major. */
export interface Tensor64 {
  readonly shape: readonly number[]
  readonly data: Float64Array
}

export interface ReferenceOutputs {
  /** [batch, L, H] */
  readonly lastHiddenState: Tensor64
  /** [batch, H]: first token, L2-normalised (the BGE dense embedding). */
  readonly dense: Tensor64
  /** [batch, H]: mask-weighted mean, L2-normalised. */
  readonly mean: Tensor64
  /** [batch, numLabels], task "reranker". */
  readonly logits?: Tensor64
  /** [batch, L]: relu(sparse_linear(h)), task "m3". */
  readonly sparse?: Tensor64
  /** [batch, L − 1, C]: normalize(colbert_linear(h[:, 1:]) · mask[:, 1:]), task "m3". */
  readonly colbert?: Tensor64
  /** numLayers + 1 tensors [batch, L, H], when options.hiddenStates. */
  readonly hiddenStates?: readonly Tensor64[]
}

const stack = (rows: readonly ArrayLike<number>[], shape: readonly number[]): Tensor64 => {
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1))
  let offset = 0
  for (const row of rows) {
    data.set(row, offset)
    offset += row.length
  }
  return { shape, data }
}

const stackStates = (states: readonly Matrix64[]): Tensor64 =>
  stack(
    states.map((s) => s.data),
    [states.length, states[0]?.rows ?? 0, states[0]?.cols ?? 0],
  )

const checkBatch = (config: EncoderConfig, batch: ReferenceBatch): EncoderSequence[] => {
  const invalid = (message: string) => new ReferenceForwardError("InvalidBatch", message)
  if (batch.inputIds.length === 0) throw invalid("batch.inputIds is empty; expected at least one sequence")
  if (batch.attentionMask.length !== batch.inputIds.length) {
    throw invalid(`batch.attentionMask has ${batch.attentionMask.length} rows, expected ${batch.inputIds.length} (one per inputIds row)`)
  }
  if (batch.tokenTypeIds && batch.tokenTypeIds.length !== batch.inputIds.length) {
    throw invalid(`batch.tokenTypeIds has ${batch.tokenTypeIds.length} rows, expected ${batch.inputIds.length}`)
  }
  const length = batch.inputIds[0]!.length
  if (length === 0) throw invalid("batch.inputIds[0] is empty; expected at least one token")
  return batch.inputIds.map((inputIds, b) => {
    const attentionMask = batch.attentionMask[b]!
    const tokenTypeIds = batch.tokenTypeIds?.[b] ?? inputIds.map(() => 0)
    for (const [field, row] of [["inputIds", inputIds], ["attentionMask", attentionMask], ["tokenTypeIds", tokenTypeIds]] as const) {
      if (row.length !== length) throw invalid(`batch.${field}[${b}] has ${row.length} tokens, expected ${length} (rows must be padded to one length)`)
    }
    inputIds.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
        throw invalid(`batch.inputIds[${b}][${t}] = ${id} is outside the vocabulary [0, ${config.vocabSize})`)
      }
    })
    attentionMask.forEach((m, t) => {
      if (m !== 0 && m !== 1) throw invalid(`batch.attentionMask[${b}][${t}] = ${m}, expected 0 or 1`)
    })
    tokenTypeIds.forEach((type, t) => {
      if (!Number.isInteger(type) || type < 0 || type >= config.typeVocabSize) {
        throw invalid(`batch.tokenTypeIds[${b}][${t}] = ${type} is outside [0, ${config.typeVocabSize}) (type_vocab_size)`)
      }
    })
    const lastPosition =
      config.modelType === "xlm-roberta" ? Math.max(...xlmRobertaPositionIds(inputIds, config.padTokenId)) : length - 1
    if (lastPosition >= config.maxPositions) {
      throw invalid(
        `batch row ${b} needs position id ${lastPosition} but max_position_embeddings is ${config.maxPositions}; truncate the input`,
      )
    }
    return { inputIds, attentionMask, tokenTypeIds }
  })
}

const headLinear = (
  name: "sparse_linear" | "colbert_linear",
  extra: ReadonlyMap<string, LazyTensor> | undefined,
  family: EncoderConfig["modelType"],
  main: WeightLookup,
  hiddenSize: number,
): { weight: Float64Array; bias: Float64Array; outFeatures: number } => {
  const lookup = extra ? new WeightLookup(extra, family, `${name}.pt`) : main
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
 * carry the `bert.` / `roberta.` prefix of the sequence-classification models.
 */
export const referenceForward = (
  config: EncoderConfig,
  weights: ReadonlyMap<string, LazyTensor>,
  extras: ReferenceExtras,
  batch: ReferenceBatch,
  task: ReferenceTask,
  options: ReferenceOptions = {},
): ReferenceOutputs => {
  const sequences = checkBatch(config, batch)
  const lookup = new WeightLookup(weights, config.modelType)
  const states = runEncoder(config, lookup, sequences, options.hiddenStates === true)
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
  }
  if (options.hiddenStates) outputs.hiddenStates = states.map(stackStates)
  if (task === "reranker") {
    const logits = last.map((h) => rerankerLogits(config, lookup, h))
    outputs.logits = stack(logits, [B, logits[0]!.length])
  }
  if (task === "m3") {
    const sparse = headLinear("sparse_linear", extras.sparseLinear, config.modelType, lookup, H)
    if (sparse.outFeatures !== 1) {
      throw new ReferenceForwardError("WeightShape", `sparse_linear.weight has ${sparse.outFeatures} outputs, expected 1`)
    }
    const colbert = headLinear("colbert_linear", extras.colbertLinear, config.modelType, lookup, H)
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
