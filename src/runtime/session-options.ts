// Turns runtime.json's session options into onnxruntime-node's SessionOptions for one session,
// with the thread count the loader decided.
import * as ort from "onnxruntime-node"
import type { SessionOptionsSpec } from "./runtime-config.ts"

export const toOrtSessionOptions = (spec: SessionOptionsSpec, threads: number): ort.InferenceSession.SessionOptions => ({
  executionProviders: ["cpu"],
  graphOptimizationLevel: spec.graphOptimizationLevel,
  executionMode: spec.executionMode,
  intraOpNumThreads: spec.intraOpNumThreads ?? threads,
  interOpNumThreads: spec.interOpNumThreads,
  enableCpuMemArena: spec.enableCpuMemArena,
  enableMemPattern: spec.enableMemPattern,
  // Level "all" graphs warn on load that they are CPU-specific; compile records that already.
  logSeverityLevel: 3,
  // The binding flattens nested objects into dotted config keys; dotted keys pass through as-is.
  ...(Object.keys(spec.configEntries).length > 0 ? { extra: { ...spec.configEntries } } : {}),
})
