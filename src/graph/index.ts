// Public surface of the graph toolkit: what model families build their ONNX graphs with — the
// graph under construction (compute type, constants, streamed weights), checkpoint weight
// lookup, weight layouts, pooling and normalisation, and the exporter's error type.
export { CheckpointWeights } from "./checkpoint-weights.ts"
export { ExportError, type ExportErrorReason } from "./errors.ts"
export { GraphContext, type GraphContextOptions, type IdType } from "./graph-context.ts"
export { embeddingOutputs, firstToken, l2Normalize, lastTokenPool, meanPool, pool, toFloat32, type Dim, type HeadOutput, type Pooling } from "./pooling.ts"
export {
  CHUNK_ELEMENTS,
  concatenated,
  packedLinears,
  ScratchBuffer,
  streamed,
  tableRow,
  transposedLinear,
  transposeInto,
  weightScratch,
  type WeightScratch,
  type WeightValues,
} from "./weight-layout.ts"
