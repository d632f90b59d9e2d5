// Turns runtime.json's session options into the settings of one session (src/onnx's factory),
// with the thread count the loader decided.
import type { OrtSessionSettings } from "../onnx/index.ts"
import type { SessionOptionsSpec } from "./runtime-config.ts"

export const toSessionSettings = (spec: SessionOptionsSpec, threads: number): OrtSessionSettings => ({
  level: spec.graphOptimizationLevel,
  executionMode: spec.executionMode,
  threads: spec.intraOpNumThreads ?? threads,
  interOpThreads: spec.interOpNumThreads,
  memArena: spec.enableCpuMemArena,
  memPattern: spec.enableMemPattern,
  configEntries: spec.configEntries,
})
