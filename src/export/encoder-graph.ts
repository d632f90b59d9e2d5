// Builds the whole ONNX graph of an export: the inputs, then whatever the checkpoint's model family
// builds on them (body and the task's heads), then the outputs under their public names. Every
// weight is resolved (and shape-checked) here, but only read when the model is written.
import { OUTPUT_NAMES, type TensorSpec } from "../artifacts/index.ts"
import type { ModelCheckpoint } from "../families/index.ts"
import { ExportError, GraphContext } from "../graph/index.ts"
import { checkModel, normalizeDomain, type OnnxModel, OnnxCheckError } from "../onnx/index.ts"
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
export const hasTokenTypeInput = (model: ModelCheckpoint, settings: ExportSettings): boolean =>
  model.family.tokenTypeInput(model.config, settings.tokenTypeIds === "always")

/** The options the family sees, with its default pooling filled in; options it cannot build are an InvalidOptions ExportError. */
export const graphOptions = (model: ModelCheckpoint, settings: ExportSettings) => {
  const { family, config } = model
  if (!family.tasks.includes(settings.task)) {
    throw new ExportError("InvalidOptions", `${model.dir}: task "${settings.task}" is not one the ${family.name} family exports (tasks: ${family.tasks.join(", ")})`)
  }
  const pooling = settings.pooling ?? family.poolings[0]!
  if (!family.poolings.includes(pooling)) {
    throw new ExportError("InvalidOptions", `option "pooling": "${pooling}" is not a pooling of the ${family.name} family (poolings: ${family.poolings.join(", ")})`)
  }
  const options = { task: settings.task, pooling, attention: settings.attention, seqlen: settings.seqlen }
  const problem = family.checkOptions(config, options, model.dir)
  if (problem !== undefined) throw new ExportError("InvalidOptions", problem)
  return options
}

export const buildEncoderGraph = (checkpoint: ModelCheckpoint, settings: ExportSettings, onWeight?: (name: string, bytes: number) => void): EncoderGraph => {
  const { family } = checkpoint
  const options = graphOptions(checkpoint, settings)
  const idType = settings.int32Inputs ? "int32" : "int64"
  const ctx = new GraphContext({
    name: `${family.name}-${settings.task}`,
    opset: settings.opset,
    float: settings.dtype === "fp16" ? "float16" : "float32",
    idType,
    producerVersion: EXPORTER_VERSION,
    metadata: { "kiln.task": settings.task, "kiln.family": family.name },
    ...(onWeight ? { onWeight } : {}),
  })
  const batch = settings.batch ?? "batch"
  const sequence = settings.seqlen ?? "sequence"

  const inputs: TensorSpec[] = [
    { name: "input_ids", dtype: idType, shape: [batch, sequence] },
    { name: "attention_mask", dtype: idType, shape: [batch, sequence] },
  ]
  if (hasTokenTypeInput(checkpoint, settings)) inputs.push({ name: "token_type_ids", dtype: idType, shape: [batch, sequence] })
  for (const input of inputs) ctx.g.input(input.name, idType, input.shape)

  const heads = family.buildGraph(ctx, { config: checkpoint.config, checkpoint }, options, {
    inputIds: "input_ids",
    attentionMask: "attention_mask",
    tokenTypeIds: inputs.length === 3 ? "token_type_ids" : undefined,
    batch,
    sequence,
  })
  const expected = OUTPUT_NAMES[settings.task]
  if (heads.map((h) => h.name).join() !== expected.join()) throw new Error(`internal error: outputs ${heads.map((h) => h.name)} differ from OUTPUT_NAMES.${settings.task}`)
  const outputs: TensorSpec[] = heads.map((head) => {
    ctx.g.output(head.value, "float32", head.dims)
    return { name: head.name, dtype: "float32", shape: [...head.dims] }
  })

  let model: OnnxModel
  try {
    model = ctx.g.build({ check: false })
    model = usedOpsetsOnly(renameValues(model, new Map(heads.map((head) => [head.value, head.name]))))
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

/**
 * Keeps only the opset imports some node uses (the default domain always): the graph context
 * offers com.microsoft to every family, but an export with plain ONNX attention must not ask a
 * compiler for a domain it has no node from.
 */
const usedOpsetsOnly = (model: OnnxModel): OnnxModel => {
  const used = new Set(model.graph.nodes.map((node) => normalizeDomain(node.domain)))
  return { ...model, opsetImports: model.opsetImports.filter((o) => normalizeDomain(o.domain) === "" || used.has(normalizeDomain(o.domain))) }
}
