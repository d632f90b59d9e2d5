// Public surface of the synth library: seeded synthetic tokenizers and checkpoints (and the
// `kiln synth` command) so tests and benchmarks never need downloaded weights.

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
export {
  synthesizeCheckpoint,
  type SynthesizeCheckpointOptions,
  type SynthesizedCheckpoint,
} from "./checkpoint.ts"
export { runSynthCli, SYNTH_USAGE } from "./cli.ts"
export { huggingFaceConfig, type HfConfigSpec } from "./hf-config.ts"
export {
  archsForSize,
  modelShape,
  synthArchs,
  synthSizes,
  synthTasks,
  tinyVocabSize,
  type ModelShape,
  type SynthArch,
  type SynthSize,
  type SynthTask,
} from "./model-shapes.ts"
export {
  pickOutlierChannels,
  synthesizeWeights,
  type OutlierChannel,
  type SyntheticWeights,
  type WeightLayout,
  type WeightPlan,
} from "./weights.ts"
