// Public surface of the synth library: seeded synthetic tokenizers and checkpoints for tests.

export { SynthError, type SynthErrorReason } from "./errors.ts"
export { SeededRandom } from "./random.ts"
export {
  copyTokenizer,
  defaultTokenizerVocabSize,
  minimumTokenizerVocabSize,
  tokenizerTokenId,
  tokenizerVocabSize,
  writeSyntheticTokenizer,
  type SpecialTokenIds,
  type SyntheticTokenizerInfo,
  type SyntheticTokenizerOptions,
  type TokenizerKind,
} from "./tokenizer.ts"
