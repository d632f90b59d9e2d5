// config.json of a Qwen3 model (Qwen/Qwen3-Embedding-0.6B and its siblings) in the field names
// transformers' Qwen3Config uses, normalised for the graph builder, the reference forward and the
// synthesizer. Fields that fix tensor shapes are required; the rest take Qwen3Config's defaults.
// What kiln cannot build yet (biases on the attention projections, sliding-window layers, RoPE
// scaling) is refused naming the field, rather than exported wrongly.
import { z } from "zod"
import { CheckpointError, parseConfigFields } from "../../checkpoint/index.ts"
import type { FamilyConfig } from "../family.ts"

export interface Qwen3Config extends FamilyConfig {
  readonly intermediateSize: number
  readonly numHeads: number
  /** Grouped-query attention: each key/value head serves numHeads / numKeyValueHeads query heads. */
  readonly numKeyValueHeads: number
  /** Width of one head; numHeads · headDim need not equal hiddenSize (0.6B: 16 · 128 = 2048 vs 1024). */
  readonly headDim: number
  readonly rmsNormEps: number
  readonly ropeTheta: number
  readonly maxPositionEmbeddings: number
  readonly tieWordEmbeddings: boolean
}

const positiveInt = z.int().positive()

const Qwen3ConfigJson = z.looseObject({
  hidden_size: positiveInt,
  intermediate_size: positiveInt,
  num_hidden_layers: positiveInt,
  num_attention_heads: positiveInt,
  num_key_value_heads: positiveInt.optional(),
  head_dim: positiveInt.optional(),
  vocab_size: positiveInt,
  max_position_embeddings: positiveInt.default(32768),
  rms_norm_eps: z.number().positive().default(1e-6),
  rope_theta: z.number().positive().default(10000),
  tie_word_embeddings: z.boolean().default(false),
  hidden_act: z.literal("silu").default("silu"),
  attention_bias: z.literal(false).default(false),
  use_sliding_window: z.literal(false).default(false),
  rope_scaling: z.null().optional(),
  layer_types: z.array(z.literal("full_attention")).optional(),
})

const configError = (file: string, field: string, message: string): CheckpointError => new CheckpointError("InvalidConfig", file, `field "${field}" ${message}`, { field })

/** Validates and normalises `json` (config.json read from `file`). */
export const parseQwen3Config = (json: Readonly<Record<string, unknown>>, file: string): Qwen3Config => {
  const config = parseConfigFields(Qwen3ConfigJson, json, file)
  const numHeads = config.num_attention_heads
  const numKeyValueHeads = config.num_key_value_heads ?? numHeads
  if (numHeads % numKeyValueHeads !== 0) {
    throw configError(file, "num_key_value_heads", `(${numKeyValueHeads}) must divide num_attention_heads (${numHeads})`)
  }
  const headDim = config.head_dim ?? config.hidden_size / numHeads
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw configError(file, "head_dim", `must be an even integer (rotary embeddings rotate pairs); got ${headDim}${config.head_dim === undefined ? " (hidden_size / num_attention_heads)" : ""}`)
  }
  return {
    family: "qwen3",
    hiddenSize: config.hidden_size,
    numLayers: config.num_hidden_layers,
    vocabSize: config.vocab_size,
    // Rotary positions have no table: the longest input is what the model was trained for.
    maxInputLength: config.max_position_embeddings,
    intermediateSize: config.intermediate_size,
    numHeads,
    numKeyValueHeads,
    headDim,
    rmsNormEps: config.rms_norm_eps,
    ropeTheta: config.rope_theta,
    maxPositionEmbeddings: config.max_position_embeddings,
    tieWordEmbeddings: config.tie_word_embeddings,
    raw: json,
  }
}

const PartialConfig = z.looseObject({ max_position_embeddings: z.number().int().positive().optional() })

/** The longest usable input a (possibly partial) config.json allows, if it says. */
export const qwen3InputLimit = (json: Readonly<Record<string, unknown>>): number | undefined => {
  const parsed = PartialConfig.safeParse(json)
  return parsed.success ? parsed.data.max_position_embeddings : undefined
}
