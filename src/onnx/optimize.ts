// Runs ONNX Runtime's graph optimizer over a model file and saves the optimized graph, then reads
// it back to report which ops it now contains (e.g. whether a fusion happened).
import { mkdir } from "node:fs/promises"
import { basename, dirname } from "node:path"
import * as ort from "onnxruntime-node"
import { OnnxOptimizeError } from "./errors.ts"
import { opTypeCounts } from "./inspect.ts"
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
  // The Node binding flattens `extra` into ORT config entries: { session: { a: "1" } } → "session.a" = "1".
  // Values must be strings.
  const session: Record<string, string> = {}
  if (external) {
    session.optimized_model_external_initializers_file_name = dataFileName!
    session.optimized_model_external_initializers_min_size_in_bytes = String(options.externalDataThreshold)
  }
  const extra: Record<string, Record<string, string>> = {}
  if (Object.keys(session).length > 0) extra.session = session
  if (options.disabledOptimizers?.length) extra.optimization = { disable_specified_optimizers: options.disabledOptimizers.join(";") }
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: ["cpu"],
    // Level "all" always warns that the saved graph is CPU-specific; that is documented above.
    logSeverityLevel: 3,
    graphOptimizationLevel: options.level,
    optimizedModelFilePath: outputPath,
    ...(options.intraOpNumThreads !== undefined ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
    ...(Object.keys(extra).length > 0 ? { extra } : {}),
  }
  let created: ort.InferenceSession
  try {
    created = await ort.InferenceSession.create(inputPath, sessionOptions)
  } catch (cause) {
    throw new OnnxOptimizeError(`ONNX Runtime could not load or optimize ${inputPath}: ${(cause as Error).message}`, inputPath, { cause })
  }
  await created.release()
  const optimized = await readModel(outputPath)
  const usedExternal = optimized.graph.initializers.some((t) => t.data.kind === "external")
  return { outputPath, dataFileName: usedExternal ? dataFileName : undefined, opTypeCounts: opTypeCounts(optimized) }
}
