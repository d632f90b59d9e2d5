// What BGE models make of the last hidden state, as graph outputs: CLS or mean pooling
// (L2-normalised), the reranker's sequence-classification logits, and bge-m3's sparse and ColBERT
// heads. Normalisation always runs in float32 (a float16 1e-12 clamp would underflow to 0 and turn
// a fully-masked ColBERT row into NaN).
import type { Checkpoint, EncoderConfig } from "../checkpoint/index.ts"
/** A declared dimension: a size or a symbolic name. */
type Dim = number | string
import { CheckpointWeights } from "./checkpoint-weights.ts"
import { ExportError } from "./errors.ts"
import type { GraphContext } from "./graph-context.ts"
import type { ExportSettings } from "./options.ts"

/** A graph output: the value that feeds it and its declared float32 shape. */
export interface HeadOutput {
  readonly name: string
  readonly value: string
  readonly dims: readonly Dim[]
}

export interface HeadInputs {
  /** [batch, sequence, hidden] in the compute type. */
  readonly hidden: string
  /** The attention_mask graph input (ids type). */
  readonly attentionMask: string
  readonly batch: Dim
  readonly sequence: Dim
}

const toFloat32 = (ctx: GraphContext, x: string): string => (ctx.float === "float32" ? x : ctx.cast(x, "float32"))

/** x / max(‖x‖₂, 1e-12) along `axis`, as torch.nn.functional.normalize, in float32. */
const l2Normalize = (ctx: GraphContext, x: string, axis: number): string => {
  const x32 = toFloat32(ctx, x)
  const norm = ctx.reduce("ReduceL2", x32, [axis], true)
  return ctx.op("Div", [x32, ctx.op("Max", [norm, ctx.float32Scalar(1e-12)])])
}

const firstToken = (ctx: GraphContext, hidden: string): string => ctx.op("Gather", [hidden, ctx.int64s([0], true)], { axis: 1 })

/** Mask-weighted mean over tokens (count clamped at 1e-9, as sentence-transformers), float32. */
const meanPool = (ctx: GraphContext, hidden: string, mask: string): string => {
  const m = ctx.unsqueeze(ctx.cast(mask, "float32"), [2])
  const summed = ctx.reduce("ReduceSum", ctx.op("Mul", [toFloat32(ctx, hidden), m]), [1], false)
  const count = ctx.op("Max", [ctx.reduce("ReduceSum", m, [1], false), ctx.float32Scalar(1e-9)])
  return ctx.op("Div", [summed, count])
}

/** `tensorPrefix` "" reads a head file's bare `weight`/`bias`; `name` names the initializers. */
const linearOf = (ctx: GraphContext, weights: CheckpointWeights, x: string, tensorPrefix: string, out: number, inp: number, name = tensorPrefix): string => {
  const dot = tensorPrefix === "" ? "" : `${tensorPrefix}.`
  const weight = weights.require(`${dot}weight`, [out, inp])
  const bias = weights.require(`${dot}bias`, [out])
  return ctx.linear(x, name, weight, bias)
}

const labelsOf = (config: EncoderConfig, weights: CheckpointWeights, outName: string): number =>
  config.numLabels > 0 ? config.numLabels : (weights.find(`${outName}.weight`)?.shape[0] ?? 1)

/** bge-m3's head files (sparse_linear.pt …), else `sparse_linear.*` in the main weights. */
const headWeights = (checkpoint: Checkpoint, stem: string, main: CheckpointWeights): { weights: CheckpointWeights; tensorPrefix: string } => {
  const extra = checkpoint.extras.get(stem)
  if (extra !== undefined) {
    return { weights: new CheckpointWeights(extra, checkpoint.config.modelType, checkpoint.extraFiles.get(stem) ?? `${stem}.pt`, false), tensorPrefix: "" }
  }
  if (main.find(`${stem}.weight`) !== undefined) return { weights: main, tensorPrefix: stem }
  throw new ExportError(
    "MissingWeight",
    `${checkpoint.dir}: task "m3" needs ${stem}.pt or ${stem}.safetensors (bge-m3 ships the .pt beside the weights) or a "${stem}.weight" tensor; found neither`,
    { file: checkpoint.dir, tensor: `${stem}.weight` },
  )
}

export const headOutputs = (
  ctx: GraphContext,
  checkpoint: Checkpoint,
  weights: CheckpointWeights,
  settings: ExportSettings,
  inputs: HeadInputs,
): HeadOutput[] => {
  const config = checkpoint.config
  const H = config.hiddenSize
  const { hidden, batch, sequence } = inputs
  switch (settings.task) {
    case "embedding": {
      const pooled = settings.pooling === "mean" ? meanPool(ctx, hidden, inputs.attentionMask) : toFloat32(ctx, firstToken(ctx, hidden))
      return [
        { name: "last_hidden_state", value: toFloat32(ctx, hidden), dims: [batch, sequence, H] },
        { name: "sentence_embedding", value: l2Normalize(ctx, pooled, 1), dims: [batch, H] },
      ]
    }
    case "reranker": {
      // RobertaClassificationHead: dense → tanh → out_proj on <s>; BERT: pooler (dense → tanh) → classifier.
      const robertaHead = weights.find("classifier.dense.weight") !== undefined
      const [denseName, outName] = robertaHead ? ["classifier.dense", "classifier.out_proj"] : ["pooler.dense", "classifier"]
      const labels = labelsOf(config, weights, outName)
      const pooled = ctx.op("Tanh", [linearOf(ctx, weights, firstToken(ctx, hidden), denseName, H, H)])
      return [{ name: "logits", value: toFloat32(ctx, linearOf(ctx, weights, pooled, outName, labels, H)), dims: [batch, labels] }]
    }
    case "m3": {
      const sparse = headWeights(checkpoint, "sparse_linear", weights)
      const colbert = headWeights(checkpoint, "colbert_linear", weights)
      const colbertDim = colbert.weights.find(colbert.tensorPrefix === "" ? "weight" : `${colbert.tensorPrefix}.weight`)?.shape[0] ?? H
      const dense = l2Normalize(ctx, firstToken(ctx, hidden), 1)
      // relu(sparse_linear(h)) per token; max per token id and dropping special ids happen in the runtime.
      const tokenWeights = ctx.op("Relu", [linearOf(ctx, sparse.weights, hidden, sparse.tensorPrefix, 1, H, "sparse_linear")])
      const rest = ctx.op("Slice", [hidden, ctx.int64s([1]), ctx.int64s([Number.MAX_SAFE_INTEGER]), ctx.int64s([1])])
      const restMask = ctx.op("Slice", [inputs.attentionMask, ctx.int64s([1]), ctx.int64s([Number.MAX_SAFE_INTEGER]), ctx.int64s([1])])
      const projected = toFloat32(ctx, linearOf(ctx, colbert.weights, rest, colbert.tensorPrefix, colbertDim, H, "colbert_linear"))
      const masked = ctx.op("Mul", [projected, ctx.unsqueeze(ctx.cast(restMask, "float32"), [2])])
      const restDim: Dim = typeof sequence === "number" ? sequence - 1 : "sequence_minus_1"
      return [
        { name: "dense_vecs", value: dense, dims: [batch, H] },
        { name: "sparse_vecs", value: toFloat32(ctx, ctx.squeeze(tokenWeights, [2])), dims: [batch, sequence] },
        { name: "colbert_vecs", value: l2Normalize(ctx, masked, 2), dims: [batch, restDim, colbertDim] },
      ]
    }
  }
}
