// What tells the BERT-style encoders apart (BERT, XLM-RoBERTa): everything else — graph, reference
// forward, weight names, synthetic weights — is one implementation in this folder, instantiated
// per family by encoderFamily(variant). Each family folder holds its variant.
import type { GraphContext } from "../../graph/index.ts"
import type { TokenizerKind } from "../../seeded/index.ts"
import type { FamilyTask } from "../family.ts"
import type { EncoderConfig } from "./config.ts"

export interface EncoderSynthVariant {
  /** Sizes real models of this family come in (see shapes.ts), "tiny" first. */
  readonly sizes: readonly string[]
  /** Vocabulary of the real tokenizer, used for the full sizes. */
  readonly vocabSize: number
  readonly typeVocabSize: number
  readonly layerNormEps: number
  /** Rows of the position table for a model taking `maxTokens` tokens. */
  maxPositions(maxTokens: number): number
  readonly tokenizerKind: TokenizerKind
  /** Special token strings, to find their ids in a copied real tokenizer. */
  readonly specialTokens: { readonly pad: string; readonly cls: string; readonly sep: string }
  readonly defaultIds: { readonly pad: number; readonly cls: number; readonly sep: number }
  /** config.json fields only this family writes. */
  configFields(ids: { readonly pad: number; readonly cls: number; readonly sep: number }): Record<string, unknown>
  /** Whether the base config lists one label even without a classifier (bge-base's does). */
  readonly labelsOnBaseConfig: boolean
  /** nn.Embedding(padding_idx) tables: the padding row starts at zero and never trains. */
  readonly zeroPaddingRows: boolean
  /** The *ForSequenceClassification layout: its weight prefix, and whether the head is RobertaClassificationHead (no pooler). */
  readonly classifier: { readonly prefix: string; readonly robertaHead: boolean }
}

export interface EncoderVariant {
  /** Family name and config.json model_type. */
  readonly name: string
  /** Hugging Face class-name stem ("Bert" → BertModel, BertForSequenceClassification). */
  readonly className: string
  readonly weightPrefixes: readonly string[]
  readonly padTokenDefault: number
  readonly tasks: readonly FamilyTask[]
  /** Rows of the position table spent before the first token (0 for BERT, padding_idx + 1 for XLM-R). */
  positionOffset(padTokenId: number): number
  /** Position ids of one row, as Hugging Face computes them. */
  positionIds(inputIds: readonly number[], padTokenId: number): number[]
  /** The same rule in the graph, from the input_ids value [batch, sequence]. */
  graphPositionIds(ctx: GraphContext, config: EncoderConfig, inputIds: string): string
  readonly synth: EncoderSynthVariant
}
