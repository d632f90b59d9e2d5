// Encoder layer index of a node, read off the names the exporter gives nodes and weights:
// "encoder.layer.3.output.dense.weight", "/encoder/layer.3/attention/…", "layers.3", "layer_3".

import type { OnnxNode } from "../onnx/index.ts"

const LAYER_PATTERN = /(?:^|[^a-z0-9])layers?[._/-]?(\d+)(?=$|[^0-9])/i

/** The layer index in one name, or undefined ("LayerNorm_1" and "player2" are not layers). */
export const layerIndexInName = (name: string): number | undefined => {
  const match = LAYER_PATTERN.exec(name)
  return match === null ? undefined : Number(match[1])
}

/**
 * A node's layer: from its own name, else from the first of its inputs (weights, usually) whose
 * name carries one. Auto-named nodes ("MatMul_12") thus still find their layer through the weight.
 */
export const nodeLayerIndex = (node: OnnxNode, isInitializer: (name: string) => boolean): number | undefined => {
  const own = layerIndexInName(node.name)
  if (own !== undefined) return own
  for (const input of node.inputs) {
    if (!isInitializer(input)) continue
    const index = layerIndexInName(input)
    if (index !== undefined) return index
  }
  return undefined
}
