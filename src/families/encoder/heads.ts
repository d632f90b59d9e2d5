// What BGE models make of the encoder's last hidden state, as graph outputs: pooled embeddings
// (L2-normalised), the reranker's sequence-classification logits, and bge-m3's sparse and ColBERT
// heads. Normalisation always runs in float32 (see src/graph/pooling.ts).
import type { Checkpoint } from "../../checkpoint/index.ts"
import { CheckpointWeights, type Dim, embeddingOutputs, ExportError, firstToken, type GraphContext, type HeadOutput, l2Normalize, toFloat32 } from "../../graph/index.ts"
import type { GraphOptions } from "../family.ts"
import type { EncoderConfig } from "./config.ts"

export interface HeadInputs {
  /** [batch, sequence, hidden] in the compute type. */
  readonly hidden: string
  /** The attention_mask graph input (ids type). */
  readonly attentionMask: string
  readonly batch: Dim
  readonly sequence: Dim
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
    return { weights: new CheckpointWeights(extra, [], checkpoint.extraFiles.get(stem) ?? `${stem}.pt`, false), tensorPrefix: "" }
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
  model: { readonly config: EncoderConfig; readonly checkpoint: Checkpoint },
  weights: CheckpointWeights,
  settings: GraphOptions,
  inputs: HeadInputs,
): HeadOutput[] => {
  const { config, checkpoint } = model
  const H = config.hiddenSize
  const { hidden, batch, sequence } = inputs
  switch (settings.task) {
    case "embedding":
      return embeddingOutputs(ctx, settings.pooling, hidden, inputs, H)
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
