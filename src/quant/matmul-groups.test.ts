// Search groups: MatMul roles read off Hugging Face weight names (packed or separate Q/K/V, attention
// output, FFN up/down), heads outside the layers, whole layers, and each group's MACs per token.

import { expect, test } from "bun:test"
import { GraphEditor } from "../onnx/index.ts"
import { groupTargets, matmulRole } from "./matmul-groups.ts"
import { findTargets, type QuantTarget } from "./targets.ts"
import { buildTestEncoder } from "./test-encoder.ts"

const targetsOf = (attention: "fused" | "unfused"): QuantTarget[] => findTargets(new GraphEditor(buildTestEncoder({ layers: 2, attention, seed: 3 }).model)).targets

test("separate Q, K and V MatMuls form one qkv group per layer, with the MACs of all three", () => {
  const groups = groupTargets(targetsOf("unfused").filter((t) => t.kind !== "gather"), "matmul")
  expect(groups.map((g) => g.group)).toEqual([
    "layer.0.qkv",
    "layer.0.attention-output",
    "layer.0.ffn-up",
    "layer.0.ffn-down",
    "layer.1.qkv",
    "layer.1.attention-output",
    "layer.1.ffn-up",
    "layer.1.ffn-down",
  ])
  const qkv = groups[0]!
  expect(qkv.nodes).toHaveLength(3)
  expect(qkv.macsPerToken).toBe(3 * 32 * 32)
  expect(groups.find((g) => g.group === "layer.1.ffn-down")!.macsPerToken).toBe(128 * 32)
})

test("packed QKV (com.microsoft:Attention) is the qkv group; layer unit merges a layer's groups", () => {
  const targets = targetsOf("fused").filter((t) => t.kind !== "gather")
  expect(matmulRole(targets[0]!)).toBe("qkv")
  const layers = groupTargets(targets, "layer")
  expect(layers.map((g) => [g.group, g.nodes.length, g.macsPerToken])).toEqual([
    ["layer.0", 4, 32 * 96 + 32 * 32 + 32 * 128 + 128 * 32],
    ["layer.1", 4, 32 * 96 + 32 * 32 + 32 * 128 + 128 * 32],
  ])
})

test("targets outside the layers are head groups named by their weight; skipped nodes are left out", () => {
  const head = (name: string, k: number, n: number): QuantTarget => ({
    kind: "linear",
    node: { name: `${name}/MatMul`, opType: "MatMul", domain: "", inputs: [], outputs: [], attributes: [] },
    activation: "x",
    weight: { name: `${name}.weight`, k, n, data: () => new Float32Array(k * n) },
    bias: undefined,
    output: "y",
    layer: undefined,
  })
  const targets = [head("classifier.dense", 8, 8), head("classifier.out_proj", 8, 1), head("pooler.dense", 8, 8)]
  const groups = groupTargets(targets, "matmul", (node) => node.startsWith("pooler"))
  expect(groups.map((g) => [g.group, g.role, g.macsPerToken])).toEqual([
    ["head.classifier.dense", "head", 64],
    ["head.classifier.out_proj", "head", 8],
  ])
  expect(groupTargets(targets, "layer").map((g) => g.group)).toEqual(["other"])
})
