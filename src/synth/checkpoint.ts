// synthesizeCheckpoint: a seeded Hugging Face model folder (config.json, weights, tokenizer) in
// the layout of a real BGE model — BertModel / XLMRobertaModel safetensors, a reranker's
// sequence classifier, or bge-m3's pytorch_model.bin + sparse_linear.pt + colbert_linear.pt.

import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { z } from "zod"
import { writeSafetensors, writeTorchStateDict, type TensorSource, type WritableDType } from "../checkpoint/index.ts"
import { SynthError } from "./errors.ts"
import { huggingFaceConfig } from "./hf-config.ts"
import { archsForSize, modelShape, synthArchs, synthSizes, synthTasks, type ModelShape, type SynthArch, type SynthSize, type SynthTask } from "./model-shapes.ts"
import { copyTokenizer, tokenizerTokenId, writeSyntheticTokenizer } from "./tokenizer.ts"
import { synthesizeWeights, type OutlierChannel, type WeightLayout } from "./weights.ts"

export interface SynthesizeCheckpointOptions {
  readonly arch: SynthArch
  readonly size: SynthSize
  readonly task: SynthTask
  /** Plant a few large-magnitude hidden channels, like real BERT / XLM-R outlier features. */
  readonly outliers?: boolean
  /** Copy this real tokenizer folder instead of generating one; vocab_size follows it. */
  readonly tokenizerDir?: string
  readonly seed: number
  readonly out: string
  /** Stored weight dtype (default float32, as the real BGE checkpoints). */
  readonly dtype?: WritableDType
}

export interface SynthesizedCheckpoint {
  readonly dir: string
  /** File names written into `dir`. */
  readonly files: readonly string[]
  readonly config: Readonly<Record<string, unknown>>
  readonly layout: WeightLayout
  readonly weightsFile: "model.safetensors" | "pytorch_model.bin"
  readonly shape: ModelShape
  readonly outlierChannels: readonly OutlierChannel[]
  /** Names and shapes of the main weight file's tensors, in file order. */
  readonly tensors: readonly { readonly name: string; readonly shape: readonly number[] }[]
}

const optionsSchema = z
  .object({
    arch: z.enum(synthArchs),
    size: z.enum(synthSizes),
    task: z.enum(synthTasks),
    outliers: z.boolean().optional(),
    tokenizerDir: z.string().min(1).optional(),
    seed: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    out: z.string().min(1),
    dtype: z.enum(["float32", "float16", "bfloat16"]).optional(),
  })
  .superRefine((options, context) => {
    if (options.task === "m3" && options.arch !== "xlm-roberta") {
      context.addIssue({ code: "custom", path: ["task"], message: `task "m3" is bge-m3's layout and needs arch "xlm-roberta", got "${options.arch}"` })
    }
    const archs = archsForSize(options.size)
    if (!archs.includes(options.arch)) {
      context.addIssue({
        code: "custom",
        path: ["arch"],
        message: `size "${options.size}" exists only for arch ${archs.map((a) => `"${a}"`).join(" or ")}, got "${options.arch}"`,
      })
    }
  })

/** bge-m3 ships pytorch_model.bin and two head files; every other layout is one safetensors file. */
const layoutOf = (size: SynthSize, task: SynthTask): WeightLayout => {
  if (task === "reranker") return "sequence-classification"
  if (task === "m3" || size === "bge-m3") return "m3"
  return "base"
}

const familyTokens: Record<SynthArch, { readonly pad: string; readonly cls: string; readonly sep: string }> = {
  bert: { pad: "[PAD]", cls: "[CLS]", sep: "[SEP]" },
  "xlm-roberta": { pad: "<pad>", cls: "<s>", sep: "</s>" },
}
const familyDefaultIds: Record<SynthArch, { readonly pad: number; readonly cls: number; readonly sep: number }> = {
  bert: { pad: 0, cls: 101, sep: 102 },
  "xlm-roberta": { pad: 1, cls: 0, sep: 2 },
}

/** Copies or generates the tokenizer; returns its vocabulary size and special ids. */
const placeTokenizer = async (options: z.infer<typeof optionsSchema>, shape: ModelShape) => {
  if (options.tokenizerDir !== undefined) {
    const { vocabSize, files } = await copyTokenizer(options.tokenizerDir, options.out)
    const tokens = familyTokens[options.arch]
    const defaults = familyDefaultIds[options.arch]
    const idOf = async (token: string, fallback: number) => (await tokenizerTokenId(options.out, token)) ?? fallback
    const specialTokenIds = {
      pad: await idOf(tokens.pad, defaults.pad),
      cls: await idOf(tokens.cls, defaults.cls),
      sep: await idOf(tokens.sep, defaults.sep),
    }
    return { vocabSize, specialTokenIds, files }
  }
  const info = await writeSyntheticTokenizer(options.out, {
    kind: options.arch === "bert" ? "wordpiece" : "unigram",
    vocabSize: shape.vocabSize,
    seed: options.seed,
    modelMaxLength: shape.modelMaxLength,
  })
  return { vocabSize: info.vocabSize, specialTokenIds: info.specialTokenIds, files: info.files }
}

const describeIssues = (error: z.ZodError): string =>
  error.issues.map((issue) => `${issue.path.join(".") || "(options)"}: ${issue.message}`).join("; ")

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
export const synthesizeCheckpoint = async (options: SynthesizeCheckpointOptions): Promise<SynthesizedCheckpoint> => {
  const parsed = optionsSchema.safeParse(options)
  if (!parsed.success) {
    throw new SynthError("InvalidOptions", `synthesizeCheckpoint: invalid options: ${describeIssues(parsed.error)}`)
  }
  const valid = parsed.data
  const dtype = valid.dtype ?? "float32"
  const layout = layoutOf(valid.size, valid.task)
  try {
    await mkdir(valid.out, { recursive: true })
  } catch (cause) {
    throw new SynthError("WriteFailed", `cannot create the output folder ${valid.out}: ${String(cause)}`, valid.out)
  }

  const presetShape = modelShape(valid.arch, valid.size)
  const tokenizer = await placeTokenizer(valid, presetShape)
  const shape: ModelShape = { ...presetShape, vocabSize: tokenizer.vocabSize }
  const config = huggingFaceConfig({
    arch: valid.arch,
    shape,
    sequenceClassification: layout === "sequence-classification",
    specialTokenIds: tokenizer.specialTokenIds,
    dtype,
    nameOrPath: `kiln-synth/${valid.arch}-${valid.size}-${valid.task}${valid.outliers ? "-outliers" : ""}-seed${valid.seed}`,
  })
  await writeFile(join(valid.out, "config.json"), `${JSON.stringify(config, null, 2)}\n`)

  const weights = synthesizeWeights({
    arch: valid.arch,
    shape,
    padTokenId: tokenizer.specialTokenIds.pad,
    layout,
    outliers: valid.outliers === true,
    seed: valid.seed,
    dtype,
  })
  const weightsFile = layout === "m3" ? "pytorch_model.bin" : "model.safetensors"
  writeWeights(join(valid.out, weightsFile), layout === "m3" ? "torch" : "safetensors", weights.main)
  const files = [...tokenizer.files, "config.json", weightsFile]
  if (weights.sparseLinear) {
    writeWeights(join(valid.out, "sparse_linear.pt"), "torch", weights.sparseLinear)
    files.push("sparse_linear.pt")
  }
  if (weights.colbertLinear) {
    writeWeights(join(valid.out, "colbert_linear.pt"), "torch", weights.colbertLinear)
    files.push("colbert_linear.pt")
  }
  return {
    dir: valid.out,
    files,
    config,
    layout,
    weightsFile,
    shape,
    outlierChannels: weights.outlierChannels,
    tensors: weights.main.map(({ name, shape: tensorShape }) => ({ name, shape: tensorShape })),
  }
}
