// The embedding block: word + position + token-type embeddings, then LayerNorm. Position ids are
// computed in the graph by the family's rule (the variant's graphPositionIds), as Hugging Face does.
import { type CheckpointWeights, type GraphContext, streamed, tableRow } from "../../graph/index.ts"
import { attr } from "../../onnx/index.ts"
import type { LazyTensor } from "../../tensor/index.ts"
import type { EncoderConfig } from "./config.ts"
import type { EncoderVariant } from "./variant.ts"

export interface EmbeddingInputs {
  readonly inputIds: string
  /** Undefined when the graph has no token_type_ids input (every token is type 0). */
  readonly tokenTypeIds: string | undefined
}

/** Returns the embedded sequence [batch, sequence, hidden] after LayerNorm. */
export const embeddings = (ctx: GraphContext, variant: EncoderVariant, config: EncoderConfig, weights: CheckpointWeights, inputs: EmbeddingInputs): string => {
  const H = config.hiddenSize
  const word = weights.require("embeddings.word_embeddings.weight", [config.vocabSize, H])
  const position = weights.require("embeddings.position_embeddings.weight", [config.maxPositions, H])
  const tokenType = weights.require("embeddings.token_type_embeddings.weight", [config.typeVocabSize, H])
  const gamma = weights.require("embeddings.LayerNorm.weight", [H])
  const beta = weights.require("embeddings.LayerNorm.bias", [H])

  const wordTable = ctx.weight("embeddings.word_embeddings.weight", [config.vocabSize, H], streamed(word, ctx.scratch))
  const positionTable = ctx.weight("embeddings.position_embeddings.weight", [config.maxPositions, H], streamed(position, ctx.scratch))
  let x = ctx.op("Gather", [wordTable, inputs.inputIds], { axis: 0 })
  if (inputs.tokenTypeIds !== undefined) {
    const typeTable = ctx.weight("embeddings.token_type_embeddings.weight", [config.typeVocabSize, H], streamed(tokenType, ctx.scratch))
    x = ctx.op("Add", [x, ctx.op("Gather", [typeTable, inputs.tokenTypeIds], { axis: 0 })])
  } else {
    x = ctx.op("Add", [x, ctx.weight("embeddings.token_type_embeddings.row0", [H], tableRow(tokenType, 0, ctx.scratch))])
  }
  x = ctx.op("Add", [x, ctx.op("Gather", [positionTable, variant.graphPositionIds(ctx, config, inputs.inputIds)], { axis: 0 })])
  return layerNorm(ctx, x, "embeddings.LayerNorm", [gamma, beta], config.layerNormEps)
}

/** LayerNormalization over the hidden axis; statistics in float32 (stash_type 1) even for float16. */
export const layerNorm = (
  ctx: GraphContext,
  x: string,
  prefix: string,
  [gamma, beta]: readonly [LazyTensor, LazyTensor],
  epsilon: number,
): string => {
  const H = gamma.shape[0]!
  const g = ctx.weight(`${prefix}.weight`, [H], streamed(gamma, ctx.scratch))
  const b = ctx.weight(`${prefix}.bias`, [H], streamed(beta, ctx.scratch))
  return ctx.op("LayerNormalization", [x, g, b], { axis: -1, epsilon: attr.float(epsilon), stash_type: 1 })
}
