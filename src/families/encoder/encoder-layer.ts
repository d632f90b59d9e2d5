// One transformer encoder layer in the shapes ONNX Runtime fuses on CPU: self-attention (as one
// com.microsoft:Attention node with a packed Q|K|V weight, or as plain ONNX ops), then
// Add(Add(MatMul, bias), residual) → LayerNormalization (fuses to SkipLayerNormalization), and a
// feed-forward block whose GELU is the erf formula (fuses to Gelu, then with its bias to BiasGelu).
import { type CheckpointWeights, concatenated, type GraphContext, packedLinears } from "../../graph/index.ts"
import type { LazyTensor } from "../../tensor/index.ts"
import type { EncoderConfig } from "./config.ts"
import { layerNorm } from "./embeddings.ts"

export type AttentionForm = "contrib" | "onnx"

/** The attention mask in the form the chosen attention takes, computed once for all layers. */
export interface AttentionMask {
  readonly form: AttentionForm
  /** contrib: int32 [batch, sequence] (1 = attend); onnx: additive float [batch, 1, 1, sequence]. */
  readonly value: string
}

/** Lowest finite value of the compute type: what Hugging Face adds to masked scores. */
const lowest = { float32: -3.4028234663852886e38, float16: -65504 } as const

export const attentionMask = (ctx: GraphContext, form: AttentionForm, mask: string): AttentionMask => {
  if (form === "contrib") {
    // mask_index as a raw 2-D [batch, total_sequence] int32 mask: ORT's CPU kernel accepts it as is.
    return { form, value: ctx.idType === "int32" ? mask : ctx.cast(mask, "int32") }
  }
  const blocked = ctx.op("Sub", [ctx.floatScalar(1), ctx.cast(mask, ctx.float)])
  const additive = ctx.op("Mul", [blocked, ctx.floatScalar(lowest[ctx.float])])
  return { form, value: ctx.unsqueeze(additive, [1, 2]) }
}

interface Linear {
  readonly weight: LazyTensor
  readonly bias: LazyTensor
}

const requireLinear = (weights: CheckpointWeights, prefix: string, out: number, inp: number): Linear => ({
  weight: weights.require(`${prefix}.weight`, [out, inp]),
  bias: weights.require(`${prefix}.bias`, [out]),
})

const applyLinear = (ctx: GraphContext, x: string, prefix: string, linear: Linear): string => ctx.linear(x, prefix, linear.weight, linear.bias)

const selfAttention = (ctx: GraphContext, config: EncoderConfig, weights: CheckpointWeights, p: string, x: string, mask: AttentionMask): string => {
  const H = config.hiddenSize
  const q = requireLinear(weights, `${p}.attention.self.query`, H, H)
  const k = requireLinear(weights, `${p}.attention.self.key`, H, H)
  const v = requireLinear(weights, `${p}.attention.self.value`, H, H)
  if (mask.form === "contrib") {
    const w = ctx.weight(`${p}.attention.self.qkv.weight`, [H, 3 * H], packedLinears([q.weight, k.weight, v.weight], ctx.scratch))
    const b = ctx.weight(`${p}.attention.self.qkv.bias`, [3 * H], concatenated([q.bias, k.bias, v.bias], ctx.scratch))
    return ctx.op("Attention", [x, w, b, mask.value], { num_heads: config.numHeads }, "com.microsoft")
  }
  const heads = config.numHeads
  const headSize = H / heads
  const split = ctx.int64s([0, 0, heads, headSize])
  const toHeads = (linear: Linear, name: string, perm: readonly number[]) =>
    ctx.op("Transpose", [ctx.op("Reshape", [applyLinear(ctx, x, `${p}.attention.self.${name}`, linear), split])], { perm })
  const query = toHeads(q, "query", [0, 2, 1, 3])
  const key = toHeads(k, "key", [0, 2, 3, 1])
  const value = toHeads(v, "value", [0, 2, 1, 3])
  const scores = ctx.op("Div", [ctx.op("MatMul", [query, key]), ctx.floatScalar(Math.sqrt(headSize))])
  const probs = ctx.op("Softmax", [ctx.op("Add", [scores, mask.value])], { axis: -1 })
  const context = ctx.op("Transpose", [ctx.op("MatMul", [probs, value])], { perm: [0, 2, 1, 3] })
  return ctx.op("Reshape", [context, ctx.int64s([0, 0, H])])
}

const activation = (ctx: GraphContext, config: EncoderConfig, x: string): string => {
  switch (config.hiddenAct) {
    case "gelu": {
      // 0.5 · x · (1 + erf(x / √2)): the exact pattern ORT's GeluFusion recognises.
      const erf = ctx.op("Erf", [ctx.op("Div", [x, ctx.floatScalar(Math.SQRT2)])])
      return ctx.op("Mul", [ctx.op("Mul", [x, ctx.op("Add", [erf, ctx.floatScalar(1)])]), ctx.floatScalar(0.5)])
    }
    case "gelu_new": {
      const cube = ctx.op("Mul", [ctx.op("Mul", [x, x]), x])
      const inner = ctx.op("Mul", [ctx.op("Add", [x, ctx.op("Mul", [cube, ctx.floatScalar(0.044715)])]), ctx.floatScalar(Math.sqrt(2 / Math.PI))])
      return ctx.op("Mul", [ctx.op("Mul", [x, ctx.op("Add", [ctx.op("Tanh", [inner]), ctx.floatScalar(1)])]), ctx.floatScalar(0.5)])
    }
    case "relu":
      return ctx.op("Relu", [x])
  }
}

/** Layer `index`: [batch, sequence, hidden] in and out. */
export const encoderLayer = (ctx: GraphContext, config: EncoderConfig, weights: CheckpointWeights, index: number, x: string, mask: AttentionMask): string => {
  const H = config.hiddenSize
  const I = config.intermediateSize
  const p = `encoder.layer.${index}`
  const norm = (name: string) => [weights.require(`${p}.${name}.LayerNorm.weight`, [H]), weights.require(`${p}.${name}.LayerNorm.bias`, [H])] as const

  const attended = selfAttention(ctx, config, weights, p, x, mask)
  const projected = applyLinear(ctx, attended, `${p}.attention.output.dense`, requireLinear(weights, `${p}.attention.output.dense`, H, H))
  const h = layerNorm(ctx, ctx.op("Add", [projected, x]), `${p}.attention.output.LayerNorm`, norm("attention.output"), config.layerNormEps)

  const intermediate = activation(ctx, config, applyLinear(ctx, h, `${p}.intermediate.dense`, requireLinear(weights, `${p}.intermediate.dense`, I, H)))
  const out = applyLinear(ctx, intermediate, `${p}.output.dense`, requireLinear(weights, `${p}.output.dense`, H, I))
  return layerNorm(ctx, ctx.op("Add", [out, h]), `${p}.output.LayerNorm`, norm("output"), config.layerNormEps)
}
