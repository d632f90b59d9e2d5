// The MatMulAddFusion trap (DESIGN.md §7): with fixed shapes, ORT 1.30 turns a QDQ MatMul + bias
// Add into a float Gemm over DequantizeLinear outputs. These tests show the trap is real for the
// plain QDQ pattern and that the static pass's bias layout avoids it, for 3-D and 2-D activations.

import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { GraphBuilder, GraphEditor, writeModel } from "../onnx/index.ts"
import { verifyIntegerKernels } from "./integer-kernels.ts"
import { Int8Planner } from "./int8-planner.ts"
import type { ActivationMode } from "./int8-rewrite.ts"
import { paramsForRange } from "./params.ts"
import { findTargets } from "./targets.ts"
import { gaussian, seededRandom } from "./test-random.ts"

const root = mkdtempSync(join(tmpdir(), "kiln-trap-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const normal = gaussian(seededRandom(3))
const randn = (n: number) => Float32Array.from({ length: n }, () => normal() * 0.1)

/** x → MatMul(W) + b → Relu, with x of the given dims. */
const linearModel = (dims: readonly (number | string)[], gemm = false) => {
  const g = new GraphBuilder({ name: "linear", opset: 17 })
  const x = g.input("x", "float32", dims)
  const w = g.initializer("dense.weight", "float32", [16, 8], randn(128))
  const b = g.initializer("dense.bias", "float32", [8], randn(8))
  const y = gemm ? g.op("Gemm", [x, w, b], { name: "dense/Gemm" }) : g.op("Add", [g.op("MatMul", [x, w], { name: "dense/MatMul" }), b], { name: "dense/Add" })
  g.output(g.op("Relu", [y]), "float32", [...dims.slice(0, -1), 8])
  return g.build()
}

const staticMode = (rank: number, staticShapes: boolean): ActivationMode => ({
  kind: "static",
  params: () => paramsForRange("asymmetric-uint8", -1, 1),
  rank: () => rank,
  staticShapes,
})

const quantizeAndProve = async (name: string, model: ReturnType<typeof linearModel>, mode: ActivationMode) => {
  const built = new Int8Planner(model, { weights: "per-channel", attention: "quantize", embeddings: false }).build(mode, new Map())
  const path = join(root, name, "model.onnx")
  await writeModel(built.model, path)
  return { built, proof: await verifyIntegerKernels(path) }
}

describe("MatMulAddFusion trap", () => {
  test("is real: a QDQ MatMul + [N] bias on a fixed-shape 3-D input becomes a float Gemm", async () => {
    // Pretending the shapes are dynamic writes the bias as [N], the pattern the trap catches.
    const { proof } = await quantizeAndProve("trapped", linearModel([1, 4, 16]), staticMode(3, false))
    expect(proof.totalIntegerKernels).toBe(0)
    expect(proof.dequantizedFloatMatMuls).toHaveLength(1)
    expect(proof.dequantizedFloatMatMuls[0]!.opType).toBe("Gemm")
  }, 10_000)

  test("is avoided for fixed-shape 3-D inputs: the bias goes in as [1, 1, N] and ORT emits MatMulIntegerToFloat", async () => {
    const { built, proof } = await quantizeAndProve("3d", linearModel([1, 4, 16]), staticMode(3, true))
    expect(built.model.graph.initializers.find((t) => t.name.startsWith("dense.weight_bias"))?.dims).toEqual([1, 1, 8])
    expect(proof.integerKernels).toEqual({ "com.microsoft:MatMulIntegerToFloat": 1 })
    expect(proof.dequantizedFloatMatMuls).toEqual([])
  }, 10_000)

  test("is avoided for 2-D inputs (MatMul and Gemm heads): [1, 1, N] bias, then Squeeze", async () => {
    for (const gemm of [false, true]) {
      const { built, proof } = await quantizeAndProve(`2d-${gemm}`, linearModel(["batch", 16], gemm), staticMode(2, false))
      expect(built.model.graph.nodes.some((n) => n.opType === "Squeeze")).toBe(true)
      expect(proof.integerKernels).toEqual({ "com.microsoft:MatMulIntegerToFloat": 1 })
    }
  }, 10_000)

  test("does not touch the dynamic pattern: the Add follows a Mul, and ORT folds it into DynamicQuantizeMatMul", async () => {
    const { proof } = await quantizeAndProve("dynamic", linearModel([1, 4, 16]), { kind: "dynamic", form: "onnx" })
    expect(proof.integerKernels).toEqual({ "com.microsoft:DynamicQuantizeMatMul": 1 })
    expect(proof.opTypeCounts.Add).toBeUndefined()
  }, 10_000)

  test("Gemm targets read transB weights as [K, N]", () => {
    const g = new GraphBuilder({ name: "gemm", opset: 17 })
    const x = g.input("x", "float32", ["batch", 3])
    const w = g.initializer("w", "float32", [2, 3], Float32Array.from([1, 2, 3, 4, 5, 6]))
    g.output(g.op("Gemm", [x, w], { attrs: { transB: 1 } }), "float32", ["batch", 2])
    const [target] = findTargets(new GraphEditor(g.build())).targets
    expect(target?.kind === "linear" && [...target.weight.data()]).toEqual([1, 4, 2, 5, 3, 6])
  })
})
