// Offline tokenization for BGE embedding models and rerankers: ONNX-ready batches with
// FlagEmbedding's truncation rules and query instructions.

export { TokenizerError, type TokenizerErrorReason } from "./errors.ts"
export { bgeChineseQueryInstruction, bgeEnglishQueryInstruction } from "./instructions.ts"
export { largestPlausibleMaxLength } from "./max-length.ts"
export { batchRow, packRows, toBigInt64, type TokenBatch, type TokenRow } from "./token-batch.ts"
export {
  loadTokenizer,
  type EncodeOptions,
  type LoadTokenizerOptions,
  type Padding,
  type PairEncodeOptions,
  type TextTokenizer,
} from "./text-tokenizer.ts"
