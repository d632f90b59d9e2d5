// Proof that an int8 graph runs integer kernels: let ONNX Runtime optimise it at level "all" (as a
// session would), then count the integer ops in the optimised graph and any float MatMul/Gemm still
// fed by DequantizeLinear — the symptom of a blocked fusion such as the MatMulAddFusion trap.

import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { opKey, optimizeWithOrt, readModel } from "../onnx/index.ts"

export const INTEGER_KERNELS = [
  "com.microsoft:DynamicQuantizeMatMul",
  "com.microsoft:MatMulIntegerToFloat",
  "QLinearMatMul",
  "com.microsoft:QLinearMatMul",
  "com.microsoft:QAttention",
  "com.microsoft:QGemm",
  "MatMulInteger",
] as const

const FLOAT_MATMULS = new Set(["MatMul", "Gemm", "com.microsoft:FusedMatMul", "com.microsoft:FusedGemm"])

export interface IntegerKernelReport {
  /** Integer ops in the optimised graph, by op key. */
  readonly integerKernels: Record<string, number>
  readonly totalIntegerKernels: number
  /** Float MatMul/Gemm nodes with a DequantizeLinear input: int8 weights computed in float. */
  readonly dequantizedFloatMatMuls: readonly { readonly node: string; readonly opType: string }[]
  readonly opTypeCounts: Record<string, number>
}

/** Optimises `modelPath` with ORT (level "all", CPU) into a scratch file and inspects the result. */
export const verifyIntegerKernels = async (modelPath: string, options: { readonly disabledOptimizers?: readonly string[]; readonly threads?: number } = {}): Promise<IntegerKernelReport> => {
  const dir = mkdtempSync(join(tmpdir(), "kiln-int8-proof-"))
  try {
    const result = await optimizeWithOrt(modelPath, join(dir, "optimized.onnx"), {
      level: "all",
      ...(options.disabledOptimizers ? { disabledOptimizers: options.disabledOptimizers } : {}),
      ...(options.threads !== undefined ? { intraOpNumThreads: options.threads } : {}),
    })
    const optimized = await readModel(result.outputPath)
    const dequantized = new Set(optimized.graph.nodes.filter((n) => n.opType === "DequantizeLinear").flatMap((n) => n.outputs))
    const integerKernels: Record<string, number> = {}
    for (const key of INTEGER_KERNELS) if (result.opTypeCounts[key]) integerKernels[key] = result.opTypeCounts[key]
    return {
      integerKernels,
      totalIntegerKernels: Object.values(integerKernels).reduce((a, b) => a + b, 0),
      dequantizedFloatMatMuls: optimized.graph.nodes
        .filter((n) => FLOAT_MATMULS.has(opKey(n)) && n.inputs.some((i) => dequantized.has(i)))
        .map((n) => ({ node: n.name, opType: opKey(n) })),
      opTypeCounts: result.opTypeCounts,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
