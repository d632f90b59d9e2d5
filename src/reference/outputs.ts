// What a family's float64 reference forward takes and returns — the independent answer an
// exported ONNX model is checked against: last_hidden_state plus the outputs of the task (pooled
// embeddings, reranker logits, bge-m3 sparse and ColBERT heads) — and the batch checks every
// family's forward starts with.

import type { LazyTensor } from "../tensor/index.ts"
import { ReferenceForwardError } from "./errors.ts"
import type { Matrix64 } from "./math.ts"

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
  /** [batch, H]: the last real token (attention mask 1), L2-normalised. */
  readonly last: Tensor64
  /** [batch, numLabels], task "reranker". */
  readonly logits?: Tensor64
  /** [batch, L]: relu(sparse_linear(h)), task "m3". */
  readonly sparse?: Tensor64
  /** [batch, L − 1, C]: normalize(colbert_linear(h[:, 1:]) · mask[:, 1:]), task "m3". */
  readonly colbert?: Tensor64
  /** numLayers + 1 tensors [batch, L, H], when options.hiddenStates. */
  readonly hiddenStates?: readonly Tensor64[]
}

export const stack = (rows: readonly ArrayLike<number>[], shape: readonly number[]): Tensor64 => {
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1))
  let offset = 0
  for (const row of rows) {
    data.set(row, offset)
    offset += row.length
  }
  return { shape, data }
}

export const stackStates = (states: readonly Matrix64[]): Tensor64 =>
  stack(
    states.map((s) => s.data),
    [states.length, states[0]?.rows ?? 0, states[0]?.cols ?? 0],
  )

/** One tokenized sequence, checked against the model. */
export interface ReferenceSequence {
  readonly inputIds: readonly number[]
  readonly attentionMask: readonly number[]
  readonly tokenTypeIds: readonly number[]
}

/**
 * Checks a batch's shape and values against the vocabulary and the token types the model has,
 * naming the row, token and field at fault; returns one sequence per row.
 */
export const checkBatch = (batch: ReferenceBatch, limits: { readonly vocabSize: number; readonly typeVocabSize: number }): ReferenceSequence[] => {
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
      if (!Number.isInteger(id) || id < 0 || id >= limits.vocabSize) {
        throw invalid(`batch.inputIds[${b}][${t}] = ${id} is outside the vocabulary [0, ${limits.vocabSize})`)
      }
    })
    attentionMask.forEach((m, t) => {
      if (m !== 0 && m !== 1) throw invalid(`batch.attentionMask[${b}][${t}] = ${m}, expected 0 or 1`)
    })
    tokenTypeIds.forEach((type, t) => {
      if (!Number.isInteger(type) || type < 0 || type >= limits.typeVocabSize) {
        throw invalid(`batch.tokenTypeIds[${b}][${t}] = ${type} is outside [0, ${limits.typeVocabSize}) (type_vocab_size)`)
      }
    })
    return { inputIds, attentionMask, tokenTypeIds }
  })
}
