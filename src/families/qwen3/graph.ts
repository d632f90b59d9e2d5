// The Qwen3 decoder as an ONNX graph for embedding: token embeddings, then per layer RMSNorm →
// grouped-query self-attention (q/k RMSNorm per head, rotary positions, causal + padding mask) →
// residual → RMSNorm → SwiGLU MLP → residual; the final RMSNorm; then the pooled, L2-normalised
// sentence embedding (last real token by default). Plain ONNX ops throughout (ORT fuses the
// RMSNorms to SimplifiedLayerNormalization); no projection has a bias.
//
// Positions are counted per row from the first real token (cumsum(mask) − 1, as transformers'
// generate() does for a padded batch), so a row embeds the same whether it is padded on the left,
// as Qwen3-Embedding's tokenizer does, or on the right, as kiln's runtime does. Rotary attention
// depends only on position differences, so this equals Qwen3Model's default arange positions.
import type { Checkpoint } from "../../checkpoint/index.ts"
import { CheckpointWeights, embeddingOutputs, type GraphContext, type HeadOutput, streamed, toFloat32, transposedLinear } from "../../graph/index.ts"
import type { LazyTensor } from "../../tensor/index.ts"
import type { GraphInputs, GraphOptions } from "../family.ts"
import type { Qwen3Config } from "./config.ts"
import { embedWeight, finalNormWeight, layerWeights, qwen3WeightPrefixes, type WeightSpec } from "./weights.ts"

/** What Hugging Face adds to masked scores: the lowest float32. */
const lowestFloat32 = -3.4028234663852886e38

interface Context {
  readonly ctx: GraphContext
  readonly config: Qwen3Config
  readonly weights: CheckpointWeights
}

const tensor = (g: Context, spec: WeightSpec): LazyTensor => g.weights.require(spec.name, spec.shape)

/** x · Wᵀ for a bias-free PyTorch Linear stored [out, in]. */
const project = (g: Context, x: string, spec: WeightSpec): string => {
  const weight = tensor(g, spec)
  const [out, inp] = spec.shape as [number, number]
  return g.ctx.op("MatMul", [x, g.ctx.weight(spec.name, [inp, out], transposedLinear(weight, g.ctx.scratch))])
}

/** Qwen3RMSNorm over the last axis: x / √(mean(x²) + eps) · weight, statistics in float32. */
const rmsNorm = (g: Context, x: string, spec: WeightSpec): string => {
  const { ctx } = g
  const x32 = toFloat32(ctx, x)
  const meanSquare = ctx.reduce("ReduceMean", ctx.op("Pow", [x32, ctx.float32Scalar(2)]), [-1], true)
  const normed = ctx.op("Div", [x32, ctx.op("Sqrt", [ctx.op("Add", [meanSquare, ctx.float32Scalar(g.config.rmsNormEps)])])])
  const back = ctx.float === "float32" ? normed : ctx.cast(normed, ctx.float)
  return ctx.op("Mul", [back, ctx.weight(spec.name, spec.shape, streamed(tensor(g, spec), ctx.scratch))])
}

/** Per-row positions of real tokens from 0 (pads get 0): max(cumsum(mask) − 1, 0), int64 [batch, sequence]. */
const positionIds = (ctx: GraphContext, mask: string): string => {
  const counted = ctx.op("CumSum", [ctx.cast(mask, "int64"), ctx.int64s([1], true)])
  return ctx.op("Max", [ctx.op("Sub", [counted, ctx.int64s([1], true)]), ctx.int64s([0], true)])
}

/** cos and sin of the rotary angles, [batch, 1, sequence, headDim] in the compute type. */
const rotaryTables = (g: Context, mask: string): { cos: string; sin: string } => {
  const { ctx, config } = g
  const half = config.headDim / 2
  // inv_freq[i] = θ^(−2i/d), as Qwen3RotaryEmbedding's default rope type.
  const invFreq = Array.from({ length: half }, (_, i) => 1 / config.ropeTheta ** ((2 * i) / config.headDim))
  const invFreqName = ctx.g.initializer(ctx.g.uniqueName("rope_inv_freq"), "float32", [half], invFreq)
  const positions = ctx.unsqueeze(ctx.cast(positionIds(ctx, mask), "float32"), [2])
  const freqs = ctx.op("Mul", [positions, invFreqName])
  const angles = ctx.unsqueeze(ctx.op("Concat", [freqs, freqs], { axis: -1 }), [1])
  const inCompute = (x: string) => (ctx.float === "float32" ? x : ctx.cast(x, ctx.float))
  return { cos: inCompute(ctx.op("Cos", [angles])), sin: inCompute(ctx.op("Sin", [angles])) }
}

/** x · cos + rotate_half(x) · sin, rotate_half(x) = [−x₂, x₁] over the halves of the last axis. */
const rotate = (g: Context, x: string, rotary: { cos: string; sin: string }): string => {
  const { ctx } = g
  const half = g.config.headDim / 2
  const first = ctx.op("Slice", [x, ctx.int64s([0]), ctx.int64s([half]), ctx.int64s([-1])])
  const second = ctx.op("Slice", [x, ctx.int64s([half]), ctx.int64s([g.config.headDim]), ctx.int64s([-1])])
  const rotated = ctx.op("Concat", [ctx.op("Neg", [second]), first], { axis: -1 })
  return ctx.op("Add", [ctx.op("Mul", [x, rotary.cos]), ctx.op("Mul", [rotated, rotary.sin])])
}

/**
 * The additive float32 attention bias [batch, 1, 1, sequence, sequence]: 0 where key j may be seen
 * by query i (j ≤ i and j is a real token), the lowest float32 elsewhere — one value, never a sum,
 * so a row with nothing to see stays finite (uniform), as in transformers.
 */
const attentionBias = (ctx: GraphContext, mask: string): string => {
  const ones = ctx.op("Add", [ctx.op("Mul", [ctx.cast(mask, "int64"), ctx.int64s([0], true)]), ctx.int64s([1], true)])
  const index = ctx.op("Sub", [ctx.op("CumSum", [ones, ctx.int64s([1], true)]), ctx.int64s([1], true)])
  const causal = ctx.op("LessOrEqual", [ctx.unsqueeze(index, [1]), ctx.unsqueeze(index, [2])])
  const allowed = ctx.op("And", [causal, ctx.unsqueeze(ctx.op("Equal", [mask, ctx.idScalar(1)]), [1])])
  const bias = ctx.op("Where", [allowed, ctx.float32Scalar(0), ctx.float32Scalar(lowestFloat32)])
  return ctx.unsqueeze(bias, [1, 2])
}

const selfAttention = (g: Context, x: string, layer: number, rotary: { cos: string; sin: string }, bias: string, dims: { readonly batch: string | number; readonly sequence: string | number }): string => {
  const { ctx, config } = g
  const w = layerWeights(config, layer)
  const { numHeads, numKeyValueHeads, headDim } = config
  const groups = numHeads / numKeyValueHeads
  // [batch, seq, heads·d] → per-head RMSNorm → [batch, heads, seq, d] → rotary.
  const heads = (spec: WeightSpec, count: number, norm: WeightSpec | undefined) => {
    const split = ctx.op("Reshape", [project(g, x, spec), ctx.int64s([0, 0, count, headDim])])
    return ctx.op("Transpose", [norm === undefined ? split : rmsNorm(g, split, norm)], { perm: [0, 2, 1, 3] })
  }
  const q = rotate(g, heads(w.q, numHeads, w.qNorm), rotary)
  const k = rotate(g, heads(w.k, numKeyValueHeads, w.kNorm), rotary)
  const v = heads(w.v, numKeyValueHeads, undefined)
  // Grouped-query attention without copying keys: queries as [batch, kvHeads, groups, seq, d]
  // against keys [batch, kvHeads, 1, d, seq] (query head h reads key/value head ⌊h / groups⌋).
  const grouped = ctx.op("Reshape", [q, ctx.int64s([0, numKeyValueHeads, groups, -1, headDim])])
  const keys = ctx.op("Transpose", [ctx.unsqueeze(k, [2])], { perm: [0, 1, 2, 4, 3] })
  const scores = toFloat32(ctx, ctx.op("Mul", [ctx.op("MatMul", [grouped, keys]), ctx.floatScalar(1 / Math.sqrt(headDim))]))
  const probs = ctx.op("Softmax", [ctx.op("Add", [scores, bias])], { axis: -1 })
  const context = ctx.op("MatMul", [ctx.float === "float32" ? probs : ctx.cast(probs, ctx.float), ctx.unsqueeze(v, [2])])
  const merged = ctx.op("Reshape", [ctx.op("Transpose", [ctx.op("Reshape", [context, ctx.int64s([0, numHeads, -1, headDim])])], { perm: [0, 2, 1, 3] }), ctx.int64s([0, 0, numHeads * headDim])])
  // ORT's shape inference cannot see through the reshapes; SkipSimplifiedLayerNormalization fusion
  // of the residual Add needs the attention output's 3-D shape, so it is declared.
  ctx.g.valueInfo(merged, ctx.float, [dims.batch, dims.sequence, numHeads * headDim])
  return project(g, merged, w.o)
}

/** down(silu(gate(x)) · up(x)), silu(z) = z · sigmoid(z). */
const swiGlu = (g: Context, x: string, layer: number): string => {
  const { ctx } = g
  const w = layerWeights(g.config, layer)
  const gate = project(g, x, w.gate)
  const activated = ctx.op("Mul", [gate, ctx.op("Sigmoid", [gate])])
  return project(g, ctx.op("Mul", [activated, project(g, x, w.up)]), w.down)
}

export const buildQwen3Graph = (
  ctx: GraphContext,
  model: { readonly config: Qwen3Config; readonly checkpoint: Checkpoint },
  options: GraphOptions,
  inputs: GraphInputs,
): HeadOutput[] => {
  const { config, checkpoint } = model
  const g: Context = { ctx, config, weights: new CheckpointWeights(checkpoint.tensors, qwen3WeightPrefixes, checkpoint.weightsFile) }
  const embed = embedWeight(config)
  const table = ctx.weight(embed.name, embed.shape, streamed(tensor(g, embed), ctx.scratch))
  let hidden = ctx.op("Gather", [table, inputs.inputIds], { axis: 0 })
  const rotary = rotaryTables(g, inputs.attentionMask)
  const bias = attentionBias(ctx, inputs.attentionMask)
  for (let layer = 0; layer < config.numLayers; layer++) {
    const w = layerWeights(config, layer)
    hidden = ctx.op("Add", [hidden, selfAttention(g, rmsNorm(g, hidden, w.inputNorm), layer, rotary, bias, inputs)])
    hidden = ctx.op("Add", [hidden, swiGlu(g, rmsNorm(g, hidden, w.postNorm), layer)])
  }
  hidden = rmsNorm(g, hidden, finalNormWeight(config))
  return embeddingOutputs(ctx, options.pooling, hidden, inputs, config.hiddenSize)
}
