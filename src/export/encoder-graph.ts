// Builds the whole ONNX graph of an encoder export: inputs, embeddings, the layers and the task's
// heads. Every weight is resolved (and shape-checked) here, but only read when the model is written.
import type { Checkpoint } from "../checkpoint/index.ts"
import { checkModel, type OnnxModel, OnnxCheckError } from "../onnx/index.ts"
import { OUTPUT_NAMES, type TensorSpec } from "../artifacts/index.ts"
import { CheckpointWeights } from "./checkpoint-weights.ts"
import { embeddings } from "./embeddings.ts"
import { attentionMask, encoderLayer } from "./encoder-layer.ts"
import { ExportError } from "./errors.ts"
import { GraphContext } from "./graph-context.ts"
import { headOutputs } from "./heads.ts"
import type { ExportSettings } from "./options.ts"
import { EXPORTER_VERSION } from "./version.ts"

export interface EncoderGraph {
  readonly model: OnnxModel
  readonly inputs: readonly TensorSpec[]
  readonly outputs: readonly TensorSpec[]
  /** Bytes of all weight initializers (for progress). */
  readonly weightBytes: number
}

/** Whether the export has a token_type_ids input. */
export const hasTokenTypeInput = (checkpoint: Checkpoint, settings: ExportSettings): boolean =>
  settings.tokenTypeIds === "always" || checkpoint.config.typeVocabSize > 1

export const buildEncoderGraph = (checkpoint: Checkpoint, settings: ExportSettings, onWeight?: (name: string, bytes: number) => void): EncoderGraph => {
  const config = checkpoint.config
  if (settings.task === "m3" && config.modelType !== "xlm-roberta")
    throw new ExportError("InvalidOptions", `${checkpoint.dir}: task "m3" is bge-m3's XLM-RoBERTa layout; this checkpoint is model_type "${config.modelType}"`)
  if (config.modelType === "xlm-roberta" && settings.seqlen !== undefined && settings.seqlen + config.padTokenId >= config.maxPositions)
    throw new ExportError(
      "InvalidOptions",
      `seqlen ${settings.seqlen} needs position id ${settings.seqlen + config.padTokenId} but max_position_embeddings is ${config.maxPositions} (longest input: ${config.maxPositions - config.padTokenId - 1})`,
    )
  if (config.modelType === "bert" && settings.seqlen !== undefined && settings.seqlen > config.maxPositions)
    throw new ExportError("InvalidOptions", `seqlen ${settings.seqlen} is longer than max_position_embeddings ${config.maxPositions}`)

  const idType = settings.int32Inputs ? "int32" : "int64"
  const ctx = new GraphContext({
    name: `${config.modelType}-${settings.task}`,
    opset: settings.opset,
    float: settings.dtype === "fp16" ? "float16" : "float32",
    idType,
    producerVersion: EXPORTER_VERSION,
    metadata: { "kiln.task": settings.task, "kiln.family": config.modelType },
    ...(onWeight ? { onWeight } : {}),
  })
  const weights = new CheckpointWeights(checkpoint.tensors, config.modelType, checkpoint.weightsFile)
  const batch = "batch"
  const sequence = settings.seqlen ?? "sequence"

  const inputs: TensorSpec[] = [
    { name: "input_ids", dtype: idType, shape: [batch, sequence] },
    { name: "attention_mask", dtype: idType, shape: [batch, sequence] },
  ]
  if (hasTokenTypeInput(checkpoint, settings)) inputs.push({ name: "token_type_ids", dtype: idType, shape: [batch, sequence] })
  for (const input of inputs) ctx.g.input(input.name, idType, input.shape)

  let hidden = embeddings(ctx, config, weights, {
    inputIds: "input_ids",
    tokenTypeIds: inputs.length === 3 ? "token_type_ids" : undefined,
  })
  const mask = attentionMask(ctx, settings.attention, "attention_mask")
  for (let layer = 0; layer < config.numLayers; layer++) hidden = encoderLayer(ctx, config, weights, layer, hidden, mask)

  const heads = headOutputs(ctx, checkpoint, weights, settings, { hidden, attentionMask: "attention_mask", batch, sequence })
  const expected = OUTPUT_NAMES[settings.task]
  if (heads.map((h) => h.name).join() !== expected.join()) throw new Error(`internal error: outputs ${heads.map((h) => h.name)} differ from OUTPUT_NAMES.${settings.task}`)
  const outputs: TensorSpec[] = heads.map((head) => {
    ctx.g.output(head.value, "float32", head.dims)
    return { name: head.name, dtype: "float32", shape: [...head.dims] }
  })

  let model: OnnxModel
  try {
    model = ctx.g.build({ check: false })
    model = renameValues(model, new Map(heads.map((head) => [head.value, head.name])))
    checkModel(model)
  } catch (cause) {
    if (cause instanceof OnnxCheckError) throw new Error(`internal error: the exported graph is malformed: ${cause.message}`, { cause })
    throw cause
  }
  const weightBytes = model.graph.initializers.reduce((sum, t) => sum + t.dims.reduce((a, b) => a * b, 1) * (t.dtype === "float16" ? 2 : t.dtype === "float32" || t.dtype === "int32" ? 4 : 8), 0)
  return { model, inputs, outputs, weightBytes }
}

/**
 * Gives node outputs their public names (graph outputs are built under auto-generated names, then
 * renamed here, so no Identity node stands between a head and its output).
 */
const renameValues = (model: OnnxModel, names: ReadonlyMap<string, string>): OnnxModel => {
  const rename = (name: string) => names.get(name) ?? name
  const graph = model.graph
  return {
    ...model,
    graph: {
      ...graph,
      nodes: graph.nodes.map((node) => ({ ...node, inputs: node.inputs.map(rename), outputs: node.outputs.map(rename) })),
      outputs: graph.outputs.map((output) => ({ ...output, name: rename(output.name) })),
    },
  }
}
