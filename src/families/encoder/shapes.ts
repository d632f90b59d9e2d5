// The shapes a synthetic BERT-style checkpoint can take: the real BGE model sizes (layers, hidden,
// heads, FFN) plus a tiny one for tests; vocabulary, positions, token types and LayerNorm eps come
// from the family's variant.
import type { EncoderSynthVariant } from "./variant.ts"

export interface EncoderShape {
  readonly numLayers: number
  readonly hiddenSize: number
  readonly numHeads: number
  readonly intermediateSize: number
  readonly vocabSize: number
  readonly maxPositions: number
  readonly typeVocabSize: number
  readonly layerNormEps: number
  /** model_max_length of a generated tokenizer. */
  readonly modelMaxLength: number
}

interface SizePreset {
  readonly numLayers: number
  readonly hiddenSize: number
  readonly numHeads: number
  readonly intermediateSize: number
  /** Tokens the real model takes. */
  readonly maxTokens: number
}

const presets: Readonly<Record<string, SizePreset>> = {
  tiny: { numLayers: 2, hiddenSize: 32, numHeads: 4, intermediateSize: 64, maxTokens: 512 },
  "bge-small": { numLayers: 12, hiddenSize: 384, numHeads: 12, intermediateSize: 1536, maxTokens: 512 },
  // bge-small-zh-v1.5 is not bge-small-en's shape: 4 layers of 512 wide, 8 heads.
  "bge-small-zh": { numLayers: 4, hiddenSize: 512, numHeads: 8, intermediateSize: 2048, maxTokens: 512 },
  "bge-base": { numLayers: 12, hiddenSize: 768, numHeads: 12, intermediateSize: 3072, maxTokens: 512 },
  "bge-large": { numLayers: 24, hiddenSize: 1024, numHeads: 16, intermediateSize: 4096, maxTokens: 512 },
  "bge-reranker-base": { numLayers: 12, hiddenSize: 768, numHeads: 12, intermediateSize: 3072, maxTokens: 512 },
  "bge-m3": { numLayers: 24, hiddenSize: 1024, numHeads: 16, intermediateSize: 4096, maxTokens: 8192 },
}

/** Vocabulary of the generated tokenizer for the tiny size (keeps the checkpoint well under 1 MB). */
export const tinyVocabSize = 1000

/** The full shape of `size` for a family (BERT: 512 positions; XLM-R: padding_idx + 1 + 512 = 514, 8194 for bge-m3). */
export const encoderShape = (synth: EncoderSynthVariant, size: string): EncoderShape => {
  const preset = presets[size]
  if (preset === undefined) throw new Error(`internal error: no encoder size preset "${size}"`)
  return {
    numLayers: preset.numLayers,
    hiddenSize: preset.hiddenSize,
    numHeads: preset.numHeads,
    intermediateSize: preset.intermediateSize,
    vocabSize: size === "tiny" ? tinyVocabSize : synth.vocabSize,
    maxPositions: synth.maxPositions(preset.maxTokens),
    typeVocabSize: synth.typeVocabSize,
    layerNormEps: synth.layerNormEps,
    modelMaxLength: preset.maxTokens,
  }
}
