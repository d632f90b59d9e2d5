// The config.json of a synthetic checkpoint, with the field names and values the real BGE
// models' configs carry for their family (BertModel / XLMRobertaModel / *ForSequenceClassification).

import type { EncoderShape } from "./shapes.ts"
import type { EncoderVariant } from "./variant.ts"

export interface HfConfigSpec {
  readonly variant: EncoderVariant
  readonly shape: EncoderShape
  readonly sequenceClassification: boolean
  readonly specialTokenIds: { readonly pad: number; readonly cls: number; readonly sep: number }
  readonly dtype: "float32" | "float16" | "bfloat16"
  /** Recorded as _name_or_path so a folder says what made it. */
  readonly nameOrPath: string
}

export const huggingFaceConfig = (spec: HfConfigSpec): Record<string, unknown> => {
  const { variant, shape } = spec
  const modelClass = variant.className
  const architecture = spec.sequenceClassification ? `${modelClass}ForSequenceClassification` : `${modelClass}Model`
  // One label, as the BGE rerankers have (and as bge-base's own config lists).
  const labels = spec.sequenceClassification || variant.synth.labelsOnBaseConfig ? { id2label: { "0": "LABEL_0" }, label2id: { LABEL_0: 0 } } : {}
  const familyFields = variant.synth.configFields(spec.specialTokenIds)
  const config: Record<string, unknown> = {
    _name_or_path: spec.nameOrPath,
    architectures: [architecture],
    attention_probs_dropout_prob: 0.1,
    classifier_dropout: null,
    ...familyFields,
    hidden_act: "gelu",
    hidden_dropout_prob: 0.1,
    hidden_size: shape.hiddenSize,
    ...labels,
    initializer_range: 0.02,
    intermediate_size: shape.intermediateSize,
    layer_norm_eps: shape.layerNormEps,
    max_position_embeddings: shape.maxPositions,
    model_type: variant.name,
    num_attention_heads: shape.numHeads,
    num_hidden_layers: shape.numLayers,
    pad_token_id: spec.specialTokenIds.pad,
    position_embedding_type: "absolute",
    torch_dtype: spec.dtype,
    transformers_version: "4.33.0",
    type_vocab_size: shape.typeVocabSize,
    use_cache: true,
    vocab_size: shape.vocabSize,
  }
  // Real configs list keys alphabetically (after _name_or_path); keep that so diffs read naturally.
  return Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a === "_name_or_path" ? -1 : b === "_name_or_path" ? 1 : a < b ? -1 : a > b ? 1 : 0)))
}
