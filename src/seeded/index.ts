// Public surface of the seeded-fixture toolkit: pseudo-random streams, English-like words,
// synthetic tokenizer files and seeded weight tensors. Model families build their synthetic
// checkpoints from these; nothing here knows a family.

export { SynthError, type SynthErrorReason } from "./errors.ts"
export { SeededRandom } from "./random.ts"
export { normalTable, seededTensor, type NormalTableOptions } from "./tensor-sources.ts"
export {
  addedToken,
  copyTokenizer,
  defaultTokenizerVocabSize,
  minimumTokenizerVocabSize,
  sequenceTemplate,
  specialTemplateToken,
  stringifyWithVocab,
  tokenizerTokenId,
  tokenizerVocabSize,
  VocabularyBuilder,
  vocabPlaceholder,
  writeSyntheticTokenizer,
  writeTokenizerFiles,
  type SpecialTokenIds,
  type SyntheticTokenizerInfo,
  type SyntheticTokenizerOptions,
  type TokenizerKind,
} from "./tokenizers.ts"
export { cjkCharacters, frequentSuffixes, frequentWords, printableAscii, pseudoFragment, pseudoWord } from "./words.ts"
