// Layer indices come from exporter-style node and weight names, and never from LayerNorm-like names.

import { expect, test } from "bun:test"
import { layerIndexInName, nodeLayerIndex } from "./layer-index.ts"

test("reads layer indices in the spellings exporters use", () => {
  expect(layerIndexInName("encoder.layer.11.output.dense.weight")).toBe(11)
  expect(layerIndexInName("/encoder/layer.3/attention/self/Attention")).toBe(3)
  expect(layerIndexInName("/encoder/layer/2/intermediate/dense/MatMul")).toBe(2)
  expect(layerIndexInName("model.layers.7.mlp")).toBe(7)
  expect(layerIndexInName("layer_0_ffn")).toBe(0)
  expect(layerIndexInName("LayerNormalization_3")).toBeUndefined()
  expect(layerIndexInName("/embeddings/LayerNorm/Add_1")).toBeUndefined()
  expect(layerIndexInName("player2")).toBeUndefined()
})

test("an auto-named node takes the layer of its weight", () => {
  const node = { name: "MatMul_12", opType: "MatMul", domain: "", inputs: ["x", "encoder.layer.5.output.dense.weight"], outputs: ["y"], attributes: [] }
  expect(nodeLayerIndex(node, (n) => n.endsWith(".weight"))).toBe(5)
  expect(nodeLayerIndex({ ...node, inputs: ["x", "w"] }, () => true)).toBeUndefined()
})
