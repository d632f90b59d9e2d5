// BERT's position ids: BertEmbeddings' registered arange buffer, 0..L-1 whatever the padding.
import type { GraphContext } from "../../graph/index.ts"

export const bertPositionIds = (length: number): number[] => Array.from({ length }, (_, i) => i)

/**
 * 0..L-1 per row, as cumsum(1) - 1 over a [batch, sequence] tensor of ones rather than Range(0, L):
 * the result keeps input_ids' symbolic shape, which ORT's SkipLayerNormalization fusion needs to see.
 */
export const bertGraphPositionIds = (ctx: GraphContext, inputIds: string): string => {
  const ones = ctx.op("Add", [ctx.op("Mul", [inputIds, ctx.idScalar(0)]), ctx.idScalar(1)])
  return ctx.op("Sub", [ctx.op("CumSum", [ones, ctx.int64s([1], true)]), ctx.idScalar(1)])
}
