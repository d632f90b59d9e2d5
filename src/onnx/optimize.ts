// Runs ONNX Runtime's graph optimizer over a model file and saves the optimized graph, then reads
// it back to report which ops it now contains (e.g. whether a fusion happened).
import { mkdir } from "node:fs/promises"
import { basename, dirname } from "node:path"
import type * as ort from "onnxruntime-node"
import { OnnxOptimizeError } from "./errors.ts"
import { opTypeCounts } from "./inspect.ts"
import { createOrtSession } from "./ort-session.ts"
import { readModel } from "./reader.ts"

export interface OptimizeWithOrtOptions {
  readonly level: "basic" | "extended" | "all"
  readonly intraOpNumThreads?: number
  /**
   * Initializers of at least this many bytes are saved to `<output file name>_data` beside the
   * output instead of inline; required past 2 GB. Default: everything inline.
   */
  readonly externalDataThreshold?: number
  /** ORT optimizer names to skip, e.g. ["MatMulAddFusion"] to keep MatMul+Add for QDQ fusions. */
  readonly disabledOptimizers?: readonly string[]
}

export interface OptimizeResult {
  readonly outputPath: string
  /** Undefined when no initializer was saved externally. */
  readonly dataFileName: string | undefined
  /** Op types of the optimized graph, "MatMul" or "com.microsoft:FusedMatMul". */
  readonly opTypeCounts: Record<string, number>
}

/**
 * Optimizes `inputPath` with ORT on the CPU and writes the result to `outputPath`. Models saved at
 * level "all" contain CPU-specific kernels and are tied to this ORT version.
 */
export const optimizeWithOrt = async (inputPath: string, outputPath: string, options: OptimizeWithOrtOptions): Promise<OptimizeResult> => {
  await mkdir(dirname(outputPath), { recursive: true })
  const external = options.externalDataThreshold !== undefined
  const dataFileName = external ? `${basename(outputPath)}_data` : undefined
  // ORT config entries; values must be strings.
  const configEntries: Record<string, string> = {}
  if (external) {
    configEntries["session.optimized_model_external_initializers_file_name"] = dataFileName!
    configEntries["session.optimized_model_external_initializers_min_size_in_bytes"] = String(options.externalDataThreshold)
  }
  if (options.disabledOptimizers?.length) configEntries["optimization.disable_specified_optimizers"] = options.disabledOptimizers.join(";")
  let created: ort.InferenceSession
  try {
    created = await createOrtSession(inputPath, {
      level: options.level,
      optimizedModelFilePath: outputPath,
      ...(options.intraOpNumThreads !== undefined ? { threads: options.intraOpNumThreads } : {}),
      configEntries,
    })
  } catch (cause) {
    throw new OnnxOptimizeError(`ONNX Runtime could not load or optimize ${inputPath}: ${(cause as Error).message}`, inputPath, { cause })
  }
  await created.release()
  const optimized = await readModel(outputPath)
  const usedExternal = optimized.graph.initializers.some((t) => t.data.kind === "external")
  return { outputPath, dataFileName: usedExternal ? dataFileName : undefined, opTypeCounts: opTypeCounts(optimized) }
}
