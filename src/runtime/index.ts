// The local ONNX Runtime backend: compile (offline graph optimisation with fusion checks), the
// deployment bundle and runtime.json, Embedder / Reranker over session pools (worker threads
// for several instances), and benchmarks printed in vamp's layout.
//
//   const compiled = await compileForCpu("out/model", "out/compiled")          // throws if a fusion is missing
//   await compileForCpu("out/model", "out/cls", { outputs: ["sentence_embedding"] }) // CLS only: last layer pruned to the first token
//   await writeBundle("out/compiled", "out/bundle", { instruction: bgeEnglishQueryInstruction })
//   const embedder = await Embedder.load("out/bundle", { threads: 2, instances: 1 })
//   const { dense } = await embedder.embed(texts, { batchSize: 32 })          // [n, hidden], caller's order
//   const result = await benchmark(bundleBenchTarget((n) => openBundleSession("out/bundle", { instances: n })), texts, { batchSizes: [1, 32] })
//   console.log(formatVampReport(result))

export { benchmark, bundleBenchTarget, type BenchConfigResult, type BenchOptions, type BenchResult, type BenchRunner, type BenchTarget, type LatencySummary } from "./bench.ts"
export { gatherRows, planBatches } from "./batching.ts"
export { defaultSessionOptions, writeBundle, type WriteBundleOptions, type WrittenBundle } from "./bundle.ts"
export { makeBundleSession, openBundleSession, type BundleSession, type LoadOptions, type SessionConfig } from "./bundle-session.ts"
export { cpuFingerprint, hostMismatch, ortVersion, type CpuFingerprint } from "./cpu-fingerprint.ts"
export { Embedder, type EmbedOptions, type Embeddings } from "./embedder.ts"
export { keepOutputs, pruneFirstToken, pruneForOutputs, type FirstTokenPruning, type OutputPruning } from "./first-token-pruning.ts"
export { RuntimeError, type RuntimeErrorReason } from "./errors.ts"
export { openModelSession, type FeedTensor, type ModelSession, type OutputTensor, type RunRequest, type RunResult } from "./model-session.ts"
export {
  compileForCpu,
  expectFusions,
  fusedOpCounts,
  readOptimizationHost,
  type CompileForCpuOptions,
  type CompilePruning,
  type CompileResult,
  type FusionCounts,
  type FusionKind,
  type OptimizationLevel,
} from "./optimize.ts"
export { Reranker, type ScoreOptions } from "./reranker.ts"
export { parseRuntimeConfig, readRuntimeConfig, renderRuntimeConfig, RUNTIME_FILE, RuntimeConfig, SessionOptionsSpec } from "./runtime-config.ts"
export { openSessionPool, type SessionPool, type SessionPoolOptions } from "./session-pool.ts"
export { formatVampReport } from "./vamp-report.ts"
