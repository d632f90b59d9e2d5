// Public surface of the synth library: seeded synthetic checkpoints of every registered model
// family (and the `kiln synth` command), plus the seeded toolkit they are built from, so tests and
// benchmarks never need downloaded weights.

export {
  copyTokenizer,
  defaultTokenizerVocabSize,
  minimumTokenizerVocabSize,
  SeededRandom,
  SynthError,
  tokenizerTokenId,
  tokenizerVocabSize,
  writeSyntheticTokenizer,
  type SpecialTokenIds,
  type SynthErrorReason,
  type SyntheticTokenizerInfo,
  type SyntheticTokenizerOptions,
  type TokenizerKind,
} from "../seeded/index.ts"
export { synthesizeCheckpoint, synthTasks, type SynthesizeCheckpointOptions, type SynthesizedCheckpoint } from "./checkpoint.ts"
export { runSynthCli, SYNTH_USAGE } from "./cli.ts"
