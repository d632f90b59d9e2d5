// XLM-RoBERTa's position ids (create_position_ids_from_input_ids): real tokens count from
// padding_idx + 1, padding tokens get padding_idx itself.
import type { GraphContext } from "../../graph/index.ts"

/**
 * padId + cumsum(ids ≠ padId) · (ids ≠ padId). It looks at the ids, not the attention mask, so a
 * pad id inside the text also gets position padId.
 */
export const xlmRobertaPositionIds = (inputIds: readonly number[], padId: number): number[] => {
  let count = 0
  return inputIds.map((id) => {
    if (id === padId) return padId
    count += 1
    return padId + count
  })
}

/** The same in the graph, over input_ids [batch, sequence]. */
export const xlmRobertaGraphPositionIds = (ctx: GraphContext, inputIds: string, padId: number): string => {
  const notPad = ctx.cast(ctx.op("Not", [ctx.op("Equal", [inputIds, ctx.idScalar(padId)])]), ctx.idType)
  const counted = ctx.op("Mul", [ctx.op("CumSum", [notPad, ctx.int64s([1], true)]), notPad])
  return ctx.op("Add", [counted, ctx.idScalar(padId)])
}
