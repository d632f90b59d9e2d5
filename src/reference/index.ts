// Public surface of the reference library: an independent float64 forward of BERT / XLM-R
// encoders and the BGE heads, to check exported models against.

export { float32Min, runEncoder, selfAttention, type EncoderSequence } from "./encoder.ts"
export { ReferenceForwardError, type ReferenceForwardErrorReason } from "./errors.ts"
export {
  referenceForward,
  type ReferenceBatch,
  type ReferenceExtras,
  type ReferenceOptions,
  type ReferenceOutputs,
  type ReferenceTask,
  type Tensor64,
} from "./forward.ts"
export { clsEmbedding, colbertVectors, lexicalWeights, meanEmbedding, rerankerLogits, sparseTokenWeights } from "./heads.ts"
export { inMemoryWeights, type InMemoryTensor } from "./in-memory-weights.ts"
export { erf, geluErf, geluTanh, l2Normalize, layerNorm, linear, matrix, softmaxInPlace, type Matrix64 } from "./math.ts"
export { bertPositionIds, xlmRobertaPositionIds } from "./position-ids.ts"
export { WeightLookup } from "./weights.ts"
