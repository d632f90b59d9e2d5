// The whole BERT-style encoder as an ONNX graph: embeddings (with the variant's position rule),
// the layers, then the task's heads. Every weight is resolved (and shape-checked) here, but only
// read when the model is written.
import { CheckpointWeights, type GraphContext, type HeadOutput } from "../../graph/index.ts"
import type { Checkpoint } from "../../checkpoint/index.ts"
import type { GraphInputs, GraphOptions } from "../family.ts"
import type { EncoderConfig } from "./config.ts"
import { embeddings } from "./embeddings.ts"
import { attentionMask, encoderLayer } from "./encoder-layer.ts"
import { headOutputs } from "./heads.ts"
import type { EncoderVariant } from "./variant.ts"

export const buildEncoderGraph = (
  ctx: GraphContext,
  variant: EncoderVariant,
  model: { readonly config: EncoderConfig; readonly checkpoint: Checkpoint },
  options: GraphOptions,
  inputs: GraphInputs,
): HeadOutput[] => {
  const { config, checkpoint } = model
  const weights = new CheckpointWeights(checkpoint.tensors, variant.weightPrefixes, checkpoint.weightsFile)
  let hidden = embeddings(ctx, variant, config, weights, { inputIds: inputs.inputIds, tokenTypeIds: inputs.tokenTypeIds })
  const mask = attentionMask(ctx, options.attention, inputs.attentionMask)
  for (let layer = 0; layer < config.numLayers; layer++) hidden = encoderLayer(ctx, config, weights, layer, hidden, mask)
  return headOutputs(ctx, model, weights, options, { hidden, attentionMask: inputs.attentionMask, batch: inputs.batch, sequence: inputs.sequence })
}
