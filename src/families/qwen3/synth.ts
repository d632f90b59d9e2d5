// The synthetic-checkpoint recipe of Qwen3-Embedding: a seeded folder laid out as the real
// Qwen/Qwen3-Embedding-0.6B repository — config.json with Qwen3Config's field names,
// model.safetensors with Qwen3Model's tensor names (no `model.` prefix, as sentence-transformers
// saves it; tied word embeddings, so no lm_head), and a byte-level BPE tokenizer in the Qwen2
// format. Sizes: "tiny" for tests (GQA with 2 query heads per key/value head, and heads · d ≠
// hidden like the real model), and the real 0.6B shape.
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { type TensorSource, writeSafetensors } from "../../checkpoint/index.ts"
import { normalTable, seededTensor, SynthError } from "../../seeded/index.ts"
import type { FamilySynth, SynthesizedCheckpoint, SynthRecipeOptions } from "../family.ts"
import { parseQwen3Config, type Qwen3Config } from "./config.ts"
import { writeQwen3Tokenizer } from "./tokenizer.ts"
import { embedWeight, finalNormWeight, layerWeights } from "./weights.ts"

export interface Qwen3Shape {
  readonly numLayers: number
  readonly hiddenSize: number
  readonly intermediateSize: number
  readonly numHeads: number
  readonly numKeyValueHeads: number
  readonly headDim: number
  /** Ids the tokenizer emits; config.json's vocab_size rounds it up as the real model does. */
  readonly tokenizerSize: number
  readonly vocabSize: number
  readonly maxPositions: number
}

export const qwen3Shapes: Readonly<Record<string, Qwen3Shape>> = {
  tiny: { numLayers: 2, hiddenSize: 32, intermediateSize: 64, numHeads: 4, numKeyValueHeads: 2, headDim: 16, tokenizerSize: 1000, vocabSize: 1008, maxPositions: 512 },
  // Qwen/Qwen3-Embedding-0.6B's config.json.
  "qwen3-embedding-0.6b": { numLayers: 28, hiddenSize: 1024, intermediateSize: 3072, numHeads: 16, numKeyValueHeads: 8, headDim: 128, tokenizerSize: 151665, vocabSize: 151669, maxPositions: 32768 },
}

const ropeTheta = 1_000_000
const rmsNormEps = 1e-6

// Gains relative to 1/√fan_in. q/k pass through per-head RMSNorm, so attention logits have std
// ≈ √d · d^−½ = 1 whatever the gain: peaked enough to mix tokens unevenly. The output projections
// write back at twice the scale: every text ends in the same <|endoftext|>, whose state is the
// embedding, so it must take up its context strongly (at gain 1 different texts embed at cosine
// 0.96, at 2 below 0.95 — measured in fidelity.test.ts), as a trained embedding model's does.
const projectionGain = 1
const writeBackGain = 2
const embeddingStd = 1
const normJitter = 0.1

const configJson = (shape: Qwen3Shape, endOfTextId: number, dtype: string, nameOrPath: string): Record<string, unknown> => ({
  _name_or_path: nameOrPath,
  architectures: ["Qwen3ForCausalLM"],
  attention_bias: false,
  attention_dropout: 0,
  bos_token_id: endOfTextId,
  eos_token_id: endOfTextId,
  head_dim: shape.headDim,
  hidden_act: "silu",
  hidden_size: shape.hiddenSize,
  initializer_range: 0.02,
  intermediate_size: shape.intermediateSize,
  max_position_embeddings: shape.maxPositions,
  max_window_layers: shape.numLayers,
  model_type: "qwen3",
  num_attention_heads: shape.numHeads,
  num_hidden_layers: shape.numLayers,
  num_key_value_heads: shape.numKeyValueHeads,
  rms_norm_eps: rmsNormEps,
  rope_scaling: null,
  rope_theta: ropeTheta,
  sliding_window: null,
  tie_word_embeddings: true,
  torch_dtype: dtype,
  transformers_version: "4.51.3",
  use_cache: true,
  use_sliding_window: false,
  vocab_size: shape.vocabSize,
})

/** The tensors of model.safetensors, each from its own seeded stream, in Qwen3Model's state-dict order. */
export const qwen3Tensors = (config: Qwen3Config, seed: number, dtype: TensorSource["dtype"]): TensorSource[] => {
  const linear = (spec: { name: string; shape: readonly number[] }, gain: number) =>
    seededTensor(spec.name, dtype, seed, spec.shape, (random, out) => random.fillNormal(out, 0, gain / Math.sqrt(spec.shape[1]!)))
  const norm = (spec: { name: string; shape: readonly number[] }) => seededTensor(spec.name, dtype, seed, spec.shape, (random, out) => random.fillNormal(out, 1, normJitter))
  const embed = embedWeight(config)
  const tensors: TensorSource[] = [normalTable({ name: embed.name, dtype, seed, rows: embed.shape[0]!, cols: embed.shape[1]!, std: embeddingStd })]
  for (let layer = 0; layer < config.numLayers; layer++) {
    const w = layerWeights(config, layer)
    tensors.push(
      norm(w.inputNorm),
      linear(w.q, projectionGain),
      linear(w.k, projectionGain),
      linear(w.v, projectionGain),
      linear(w.o, writeBackGain),
      norm(w.qNorm),
      norm(w.kNorm),
      norm(w.postNorm),
      linear(w.gate, projectionGain),
      linear(w.up, projectionGain),
      linear(w.down, writeBackGain),
    )
  }
  tensors.push(norm(finalNormWeight(config)))
  return tensors
}

const write = async (options: SynthRecipeOptions): Promise<SynthesizedCheckpoint> => {
  const shape = qwen3Shapes[options.size]!
  try {
    await mkdir(options.out, { recursive: true })
  } catch (cause) {
    throw new SynthError("WriteFailed", `cannot create the output folder ${options.out}: ${String(cause)}`, options.out)
  }
  const tokenizer = await writeQwen3Tokenizer(options.out, { size: shape.tokenizerSize, seed: options.seed, modelMaxLength: shape.maxPositions })
  const config = configJson(shape, tokenizer.endOfTextId, options.dtype, `kiln-synth/qwen3-${options.size}-${options.task}-seed${options.seed}`)
  await writeFile(join(options.out, "config.json"), `${JSON.stringify(config, null, 2)}\n`)
  const tensors = qwen3Tensors(parseQwen3Config(config, join(options.out, "config.json")), options.seed, options.dtype)
  const weightsFile = "model.safetensors"
  try {
    writeSafetensors(join(options.out, weightsFile), tensors)
  } catch (cause) {
    throw new SynthError("WriteFailed", `cannot write ${join(options.out, weightsFile)}: ${cause instanceof Error ? cause.message : String(cause)}`, options.out)
  }
  return {
    dir: options.out,
    files: [...tokenizer.files, "config.json", weightsFile],
    config,
    weightsFile,
    shape: { numLayers: shape.numLayers, hiddenSize: shape.hiddenSize, vocabSize: shape.vocabSize },
    outlierChannels: [],
    tensors: tensors.map(({ name, shape: tensorShape }) => ({ name, shape: tensorShape })),
  }
}

export const qwen3Synth: FamilySynth = {
  sizes: Object.keys(qwen3Shapes),
  tasks: ["embedding"],
  check: () => undefined,
  write: (options) => {
    if (options.tokenizerDir !== undefined) return Promise.reject(new SynthError("InvalidOptions", "synthesizeCheckpoint: tokenizerDir: qwen3 checkpoints generate their own byte-level BPE tokenizer"))
    if (options.outliers) return Promise.reject(new SynthError("InvalidOptions", "synthesizeCheckpoint: outliers: not planted in qwen3 checkpoints"))
    return write(options)
  },
}
