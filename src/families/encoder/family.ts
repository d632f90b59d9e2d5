// encoderFamily: a BERT-style encoder family (BERT, XLM-RoBERTa) assembled from its variant — the
// ModelFamily the registry holds. Everything shared lives in this folder; the family folders
// hold only what differs (position ids, prefixes, defaults, tokenizer and synthetic-checkpoint facts).
import type { ModelFamily } from "../family.ts"
import { type EncoderConfig, encoderInputLimit, parseEncoderConfig } from "./config.ts"
import { buildEncoderGraph } from "./graph.ts"
import { encoderReference } from "./reference.ts"
import { encoderSynth } from "./synth.ts"
import type { EncoderVariant } from "./variant.ts"

export const encoderFamily = (variant: EncoderVariant): ModelFamily<EncoderConfig> => ({
  name: variant.name,
  modelTypes: [variant.name],
  architectures: [`${variant.className}Model`, `${variant.className}ForSequenceClassification`],
  parseConfig: (json, file) => parseEncoderConfig(variant, json, file),
  inputLimit: (json) => encoderInputLimit(variant, json),
  weightPrefixes: variant.weightPrefixes,
  tasks: variant.tasks,
  poolings: ["cls", "mean"],
  tokenTypeInput: (config, always) => always || config.typeVocabSize > 1,
  checkOptions: (config, options) => {
    const { seqlen } = options
    if (seqlen === undefined || seqlen <= config.maxInputLength) return undefined
    const offset = variant.positionOffset(config.padTokenId)
    return offset === 0
      ? `seqlen ${seqlen} is longer than max_position_embeddings ${config.maxPositions}`
      : `seqlen ${seqlen} needs position id ${seqlen + offset - 1} but max_position_embeddings is ${config.maxPositions} (longest input: ${config.maxInputLength})`
  },
  buildGraph: (ctx, model, options, inputs) => buildEncoderGraph(ctx, variant, model, options, inputs),
  reference: (config, weights, extras, batch, task, options) => encoderReference(variant, config, weights, extras, batch, task, options),
  synth: encoderSynth(variant),
})
