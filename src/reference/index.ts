// Public surface of the reference toolkit: float64 building blocks (math, weight lookup, pooling
// and BGE heads) and the batch/output types every family's reference forward uses. The forwards
// themselves live with their families (src/families/<name>/reference.ts).

export { ReferenceForwardError, type ReferenceForwardErrorReason } from "./errors.ts"
export {
  checkBatch,
  stack,
  stackStates,
  type ReferenceBatch,
  type ReferenceExtras,
  type ReferenceOptions,
  type ReferenceOutputs,
  type ReferenceSequence,
  type ReferenceTask,
  type Tensor64,
} from "./outputs.ts"
export { clsEmbedding, colbertVectors, lastTokenEmbedding, lexicalWeights, meanEmbedding, sparseTokenWeights } from "./heads.ts"
export { inMemoryWeights, type InMemoryTensor } from "./in-memory-weights.ts"
export { add, erf, geluErf, geluTanh, l2Normalize, layerNorm, linear, mapInPlace, matrix, relu, softmaxInPlace, type Matrix64 } from "./math.ts"
export { WeightLookup } from "./weights.ts"
