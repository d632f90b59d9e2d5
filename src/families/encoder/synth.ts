// The synthetic-checkpoint recipe of a BERT-style encoder: a seeded Hugging Face folder in the
// layout of a real BGE model — BertModel / XLMRobertaModel safetensors, a reranker's sequence
// classifier, or bge-m3's pytorch_model.bin + sparse_linear.pt + colbert_linear.pt — with a
// generated (or copied real) tokenizer.
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { type TensorSource, writeSafetensors, writeTorchStateDict } from "../../checkpoint/index.ts"
import { copyTokenizer, SynthError, tokenizerTokenId, writeSyntheticTokenizer } from "../../seeded/index.ts"
import type { FamilySynth, FamilyTask, SynthesizedCheckpoint, SynthRecipeOptions } from "../family.ts"
import { huggingFaceConfig } from "./hf-config.ts"
import { encoderShape, type EncoderShape } from "./shapes.ts"
import { synthesizeWeights, type WeightLayout } from "./synth-weights.ts"
import type { EncoderVariant } from "./variant.ts"

/** bge-m3 ships pytorch_model.bin and two head files; every other layout is one safetensors file. */
const layoutOf = (size: string, task: FamilyTask): WeightLayout => {
  if (task === "reranker") return "sequence-classification"
  if (task === "m3" || size === "bge-m3") return "m3"
  return "base"
}

/** Copies or generates the tokenizer; returns its vocabulary size and special ids. */
const placeTokenizer = async (variant: EncoderVariant, options: SynthRecipeOptions, shape: EncoderShape) => {
  const synth = variant.synth
  if (options.tokenizerDir !== undefined) {
    const { vocabSize, files } = await copyTokenizer(options.tokenizerDir, options.out)
    const idOf = async (token: string, fallback: number) => (await tokenizerTokenId(options.out, token)) ?? fallback
    const specialTokenIds = {
      pad: await idOf(synth.specialTokens.pad, synth.defaultIds.pad),
      cls: await idOf(synth.specialTokens.cls, synth.defaultIds.cls),
      sep: await idOf(synth.specialTokens.sep, synth.defaultIds.sep),
    }
    return { vocabSize, specialTokenIds, files }
  }
  const info = await writeSyntheticTokenizer(options.out, {
    kind: synth.tokenizerKind,
    vocabSize: shape.vocabSize,
    seed: options.seed,
    modelMaxLength: shape.modelMaxLength,
  })
  return { vocabSize: info.vocabSize, specialTokenIds: info.specialTokenIds, files: info.files }
}

const writeWeights = (path: string, kind: "safetensors" | "torch", sources: readonly TensorSource[]): void => {
  try {
    if (kind === "safetensors") writeSafetensors(path, sources)
    else writeTorchStateDict(path, sources)
  } catch (cause) {
    throw new SynthError("WriteFailed", `cannot write ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, path)
  }
}

/**
 * Writes a synthetic checkpoint folder. Weights are generated and written one tensor at a time
 * (each from its own seeded stream), so the same options always give byte-identical files.
 */
const write = async (variant: EncoderVariant, options: SynthRecipeOptions): Promise<SynthesizedCheckpoint> => {
  const layout = layoutOf(options.size, options.task)
  try {
    await mkdir(options.out, { recursive: true })
  } catch (cause) {
    throw new SynthError("WriteFailed", `cannot create the output folder ${options.out}: ${String(cause)}`, options.out)
  }
  const presetShape = encoderShape(variant.synth, options.size)
  const tokenizer = await placeTokenizer(variant, options, presetShape)
  const shape: EncoderShape = { ...presetShape, vocabSize: tokenizer.vocabSize }
  const config = huggingFaceConfig({
    variant,
    shape,
    sequenceClassification: layout === "sequence-classification",
    specialTokenIds: tokenizer.specialTokenIds,
    dtype: options.dtype,
    nameOrPath: `kiln-synth/${variant.name}-${options.size}-${options.task}${options.outliers ? "-outliers" : ""}-seed${options.seed}`,
  })
  await writeFile(join(options.out, "config.json"), `${JSON.stringify(config, null, 2)}\n`)

  const weights = synthesizeWeights({
    variant: variant.synth,
    shape,
    padTokenId: tokenizer.specialTokenIds.pad,
    layout,
    outliers: options.outliers,
    seed: options.seed,
    dtype: options.dtype,
  })
  const weightsFile = layout === "m3" ? "pytorch_model.bin" : "model.safetensors"
  writeWeights(join(options.out, weightsFile), layout === "m3" ? "torch" : "safetensors", weights.main)
  const files = [...tokenizer.files, "config.json", weightsFile]
  if (weights.sparseLinear) {
    writeWeights(join(options.out, "sparse_linear.pt"), "torch", weights.sparseLinear)
    files.push("sparse_linear.pt")
  }
  if (weights.colbertLinear) {
    writeWeights(join(options.out, "colbert_linear.pt"), "torch", weights.colbertLinear)
    files.push("colbert_linear.pt")
  }
  return {
    dir: options.out,
    files,
    config,
    weightsFile,
    shape,
    outlierChannels: weights.outlierChannels,
    tensors: weights.main.map(({ name, shape: tensorShape }) => ({ name, shape: tensorShape })),
  }
}

export const encoderSynth = (variant: EncoderVariant): FamilySynth => ({
  sizes: variant.synth.sizes,
  tasks: variant.tasks,
  check: () => undefined,
  write: (options) => write(variant, options),
})
