// The shapes a synthetic checkpoint can take: the real BGE model sizes (layers, hidden, heads,
// FFN, vocabulary, positions) per architecture, plus a tiny one for tests.

export const synthArchs = ["bert", "xlm-roberta"] as const
export const synthSizes = ["tiny", "bge-small", "bge-base", "bge-large", "bge-reranker-base", "bge-m3"] as const
export const synthTasks = ["embedding", "reranker", "m3"] as const

export type SynthArch = (typeof synthArchs)[number]
export type SynthSize = (typeof synthSizes)[number]
export type SynthTask = (typeof synthTasks)[number]

export interface ModelShape {
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
  /** Architectures real models of this size exist for. */
  readonly archs: readonly SynthArch[]
}

const presets: Record<SynthSize, SizePreset> = {
  tiny: { numLayers: 2, hiddenSize: 32, numHeads: 4, intermediateSize: 64, archs: ["bert", "xlm-roberta"] },
  "bge-small": { numLayers: 12, hiddenSize: 384, numHeads: 12, intermediateSize: 1536, archs: ["bert", "xlm-roberta"] },
  "bge-base": { numLayers: 12, hiddenSize: 768, numHeads: 12, intermediateSize: 3072, archs: ["bert", "xlm-roberta"] },
  "bge-large": { numLayers: 24, hiddenSize: 1024, numHeads: 16, intermediateSize: 4096, archs: ["bert", "xlm-roberta"] },
  "bge-reranker-base": { numLayers: 12, hiddenSize: 768, numHeads: 12, intermediateSize: 3072, archs: ["xlm-roberta"] },
  "bge-m3": { numLayers: 24, hiddenSize: 1024, numHeads: 16, intermediateSize: 4096, archs: ["xlm-roberta"] },
}

/** Vocabulary of the generated tokenizer for the tiny size (keeps the checkpoint well under 1 MB). */
export const tinyVocabSize = 1000

/** Architectures a size exists for (bge-m3 and bge-reranker-base are XLM-RoBERTa only). */
export const archsForSize = (size: SynthSize): readonly SynthArch[] => presets[size].archs

/**
 * The full shape for an architecture and size. BERT: 512 positions, 2 token types, eps 1e-12.
 * XLM-R: padding_idx + 1 + 512 = 514 positions (8194 for bge-m3's 8192 tokens), 1 token type, eps 1e-5.
 */
export const modelShape = (arch: SynthArch, size: SynthSize): ModelShape => {
  const preset = presets[size]
  const longContext = size === "bge-m3"
  return {
    numLayers: preset.numLayers,
    hiddenSize: preset.hiddenSize,
    numHeads: preset.numHeads,
    intermediateSize: preset.intermediateSize,
    vocabSize: size === "tiny" ? tinyVocabSize : arch === "bert" ? 30522 : 250002,
    maxPositions: arch === "bert" ? 512 : longContext ? 8194 : 514,
    typeVocabSize: arch === "bert" ? 2 : 1,
    layerNormEps: arch === "bert" ? 1e-12 : 1e-5,
    modelMaxLength: longContext ? 8192 : 512,
  }
}
