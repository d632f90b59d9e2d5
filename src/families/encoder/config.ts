// config.json of a BERT-style encoder (BERT, XLM-RoBERTa) normalised into the hyper-parameters the
// graph builder, the reference forward and the synthesizer need. Fields that fix tensor shapes are
// required (a wrong default would build a wrong model); the rest take Hugging Face's defaults,
// which the variant supplies where they differ (pad_token_id).
import { z } from "zod"
import { CheckpointError, parseConfigFields } from "../../checkpoint/index.ts"
import type { FamilyConfig } from "../family.ts"
import type { EncoderVariant } from "./variant.ts"

export interface EncoderConfig extends FamilyConfig {
  readonly numHeads: number
  readonly intermediateSize: number
  readonly maxPositions: number
  /** 1 for XLM-R (token type ids carry no information), 2 for BERT. */
  readonly typeVocabSize: number
  readonly layerNormEps: number
  readonly padTokenId: number
  /** "gelu" (erf form) for every BGE model. */
  readonly hiddenAct: "gelu" | "gelu_new" | "relu"
  /** Sequence-classification labels (1 for BGE rerankers); 0 when the config has no classifier. */
  readonly numLabels: number
}

const positiveInt = z.int().positive()

const encoderConfigSchema = (padTokenDefault: number) =>
  z.object({
    hidden_size: positiveInt,
    num_hidden_layers: positiveInt,
    num_attention_heads: positiveInt,
    intermediate_size: positiveInt,
    vocab_size: positiveInt,
    max_position_embeddings: positiveInt,
    type_vocab_size: z.int().nonnegative().default(2),
    layer_norm_eps: z.number().positive().default(1e-12),
    pad_token_id: z.int().nonnegative().default(padTokenDefault),
    hidden_act: z.enum(["gelu", "gelu_new", "relu"]).default("gelu"),
    position_embedding_type: z.literal("absolute").default("absolute"),
    id2label: z.record(z.string(), z.string()).optional(),
    num_labels: z.int().nonnegative().optional(),
    architectures: z.array(z.string()).optional(),
  })

/** Validates and normalises `json` (config.json read from `file`) for `variant`. */
export const parseEncoderConfig = (variant: EncoderVariant, json: Readonly<Record<string, unknown>>, file: string): EncoderConfig => {
  const config = parseConfigFields(encoderConfigSchema(variant.padTokenDefault), json, file)
  if (config.hidden_size % config.num_attention_heads !== 0) {
    throw new CheckpointError(
      "InvalidConfig",
      file,
      `field "hidden_size" (${config.hidden_size}) must be a multiple of num_attention_heads (${config.num_attention_heads})`,
      { field: "hidden_size" },
    )
  }
  // id2label is present on plain encoders too (bge-base has {"0": "LABEL_0"}); only a
  // sequence-classification architecture actually has the classifier head.
  const hasClassifier = (config.architectures ?? []).some((name) => name.endsWith("ForSequenceClassification"))
  const numLabels = hasClassifier
    ? config.id2label !== undefined
      ? Object.keys(config.id2label).length
      : (config.num_labels ?? 2)
    : 0
  return {
    family: variant.name,
    hiddenSize: config.hidden_size,
    numLayers: config.num_hidden_layers,
    numHeads: config.num_attention_heads,
    intermediateSize: config.intermediate_size,
    vocabSize: config.vocab_size,
    maxPositions: config.max_position_embeddings,
    maxInputLength: config.max_position_embeddings - variant.positionOffset(config.pad_token_id),
    typeVocabSize: config.type_vocab_size,
    layerNormEps: config.layer_norm_eps,
    padTokenId: config.pad_token_id,
    hiddenAct: config.hidden_act,
    numLabels,
    raw: json,
  }
}

const PartialConfig = z.looseObject({ max_position_embeddings: z.number().int().positive().optional(), pad_token_id: z.number().int().nonnegative().optional() })

/** The longest usable input a (possibly partial) config.json allows, if it says. */
export const encoderInputLimit = (variant: EncoderVariant, json: Readonly<Record<string, unknown>>): number | undefined => {
  const parsed = PartialConfig.safeParse(json)
  if (!parsed.success || parsed.data.max_position_embeddings === undefined) return undefined
  const usable = parsed.data.max_position_embeddings - variant.positionOffset(parsed.data.pad_token_id ?? variant.padTokenDefault)
  return usable > 0 ? usable : undefined
}
