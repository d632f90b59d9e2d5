// What an embedding model makes of its token states, as graph values every family shares: first
// token, mask-weighted mean or last real token pooling, and L2 normalisation. All run in float32 (a
// float16 1e-12 clamp would underflow to 0 and turn a fully-masked row into NaN).
import type { GraphContext } from "./graph-context.ts"

/** A declared dimension: a size or a symbolic name. */
export type Dim = number | string

/** How `sentence_embedding` is pooled from the token states. */
export type Pooling = "cls" | "mean" | "last"

/** A graph output: the value that feeds it and its declared float32 shape. */
export interface HeadOutput {
  readonly name: string
  readonly value: string
  readonly dims: readonly Dim[]
}

export const toFloat32 = (ctx: GraphContext, x: string): string => (ctx.float === "float32" ? x : ctx.cast(x, "float32"))

/** x / max(‖x‖₂, 1e-12) along `axis`, as torch.nn.functional.normalize, in float32. */
export const l2Normalize = (ctx: GraphContext, x: string, axis: number): string => {
  const x32 = toFloat32(ctx, x)
  const norm = ctx.reduce("ReduceL2", x32, [axis], true)
  return ctx.op("Div", [x32, ctx.op("Max", [norm, ctx.float32Scalar(1e-12)])])
}

/** [batch, sequence, hidden] → [batch, hidden] at position 0 (CLS pooling). */
export const firstToken = (ctx: GraphContext, hidden: string): string => ctx.op("Gather", [hidden, ctx.int64s([0], true)], { axis: 1 })

/** Mask-weighted mean over tokens (count clamped at 1e-9, as sentence-transformers), float32. */
export const meanPool = (ctx: GraphContext, hidden: string, mask: string): string => {
  const m = ctx.unsqueeze(ctx.cast(mask, "float32"), [2])
  const summed = ctx.reduce("ReduceSum", ctx.op("Mul", [toFloat32(ctx, hidden), m]), [1], false)
  const count = ctx.op("Max", [ctx.reduce("ReduceSum", m, [1], false), ctx.float32Scalar(1e-9)])
  return ctx.op("Div", [summed, count])
}

/**
 * The state of each row's last real token, whichever side the row is padded on: the position
 * maximising mask · (position + 1), so right padding (length − 1) and left padding (sequence − 1)
 * both pick the last token with mask 1.
 */
export const lastTokenPool = (ctx: GraphContext, hidden: string, mask: string): string => {
  const mask64 = ctx.cast(mask, "int64")
  const ones = ctx.op("Add", [ctx.op("Mul", [mask64, ctx.int64s([0], true)]), ctx.int64s([1], true)])
  const weighted = ctx.op("Mul", [ctx.op("CumSum", [ones, ctx.int64s([1], true)]), mask64])
  const last = ctx.op("ArgMax", [weighted], { axis: 1, keepdims: 1 })
  return toFloat32(ctx, ctx.op("GatherND", [hidden, last], { batch_dims: 1 }))
}

/** Pools token states [batch, sequence, hidden] into [batch, hidden], float32. */
export const pool = (ctx: GraphContext, pooling: Pooling, hidden: string, mask: string): string => {
  switch (pooling) {
    case "cls":
      return toFloat32(ctx, firstToken(ctx, hidden))
    case "mean":
      return meanPool(ctx, hidden, mask)
    case "last":
      return lastTokenPool(ctx, hidden, mask)
  }
}

/**
 * The embedding task's outputs: last_hidden_state [batch, sequence, hidden] and the pooled,
 * L2-normalised sentence_embedding [batch, hidden].
 */
export const embeddingOutputs = (
  ctx: GraphContext,
  pooling: Pooling,
  hidden: string,
  io: { readonly attentionMask: string; readonly batch: Dim; readonly sequence: Dim },
  hiddenSize: number,
): HeadOutput[] => {
  // Pooling first: the order nodes are added in is part of the exported bytes.
  const pooled = pool(ctx, pooling, hidden, io.attentionMask)
  return [
    { name: "last_hidden_state", value: toFloat32(ctx, hidden), dims: [io.batch, io.sequence, hiddenSize] },
    { name: "sentence_embedding", value: l2Normalize(ctx, pooled, 1), dims: [io.batch, hiddenSize] },
  ]
}
