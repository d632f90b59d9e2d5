// The one place kiln opens ONNX Runtime sessions. The deployment runtime, the quantizer's
// calibration, held-out and Gram runs and offline graph optimisation all come here, so every
// session gets the same defaults: the CPU execution provider, warnings silenced (graphs saved at
// level "all" warn on load that they are CPU-specific; compile records that already), and ORT's
// config entries passed by their dotted keys.
import * as ort from "onnxruntime-node"

export type OrtOptimizationLevel = "disabled" | "basic" | "extended" | "all"

/** What differs between kiln's sessions; everything absent is ORT's default. */
export interface OrtSessionSettings {
  /** Graph optimisation on load (default "all"); "disabled" for graphs compile already optimised. */
  readonly level?: OrtOptimizationLevel
  /** Intra-op threads (absent: ORT's default, every core). */
  readonly threads?: number
  readonly interOpThreads?: number
  readonly executionMode?: "sequential" | "parallel"
  readonly memArena?: boolean
  readonly memPattern?: boolean
  /** ORT session config entries by dotted key, e.g. { "session.intra_op.allow_spinning": "0" }. */
  readonly configEntries?: Readonly<Record<string, string>>
  /** Offline optimisation: where ORT saves the optimised graph. */
  readonly optimizedModelFilePath?: string
}

/** onnxruntime-node's SessionOptions for `settings`. */
export const ortSessionOptions = (settings: OrtSessionSettings = {}): ort.InferenceSession.SessionOptions => ({
  executionProviders: ["cpu"],
  logSeverityLevel: 3,
  graphOptimizationLevel: settings.level ?? "all",
  ...(settings.threads !== undefined ? { intraOpNumThreads: settings.threads } : {}),
  ...(settings.interOpThreads !== undefined ? { interOpNumThreads: settings.interOpThreads } : {}),
  ...(settings.executionMode !== undefined ? { executionMode: settings.executionMode } : {}),
  ...(settings.memArena !== undefined ? { enableCpuMemArena: settings.memArena } : {}),
  ...(settings.memPattern !== undefined ? { enableMemPattern: settings.memPattern } : {}),
  ...(settings.optimizedModelFilePath !== undefined ? { optimizedModelFilePath: settings.optimizedModelFilePath } : {}),
  // The binding flattens nested objects into dotted config keys; dotted keys pass through as-is.
  ...(settings.configEntries !== undefined && Object.keys(settings.configEntries).length > 0 ? { extra: { ...settings.configEntries } } : {}),
})

/**
 * Opens a CPU session on `path` (external data is found beside it). ORT's own error is thrown
 * unchanged: callers wrap it in their module's error, naming what they were loading it for.
 */
export const createOrtSession = (path: string, settings: OrtSessionSettings = {}): Promise<ort.InferenceSession> =>
  ort.InferenceSession.create(path, ortSessionOptions(settings))
