// The "compile" step's local target: ONNX Runtime's offline graph optimisation of a kiln model
// folder, the fused-op counts it produced, and a check that the fusions that make an encoder fast
// on CPU (attention, SkipLayerNormalization, int8 MatMul kernels) actually happened.
import { existsSync, statSync } from "node:fs"
import { cp, mkdir, rm, writeFile } from "node:fs/promises"
import { dirname, join, resolve, sep } from "node:path"
import { MANIFEST_FILE, ModelManifest, readModelManifest, renderModelManifest } from "../artifacts/index.ts"
import { type OnnxModel, opTypeCounts, optimizeWithOrt, readModel, writeModel } from "../onnx/index.ts"
import { cpuFingerprint, type CpuFingerprint } from "./cpu-fingerprint.ts"
import { messageOf, RuntimeError } from "./errors.ts"
import { pruneForOutputs } from "./first-token-pruning.ts"

export type OptimizationLevel = "basic" | "extended" | "all"

/** The fusions `expectFusions` knows; names used in errors and in `allowMissing`. */
export type FusionKind = "attention" | "skip-layer-norm" | "int8-matmul"

export interface FusionCounts {
  /** Op counts (opTypeCounts keys) of the graph before optimisation. */
  readonly input: Readonly<Record<string, number>>
  /** Op counts of the optimised graph. */
  readonly optimized: Readonly<Record<string, number>>
}

export interface CompileForCpuOptions {
  readonly level?: OptimizationLevel
  /** intra-op threads while optimising (does not affect the saved graph). */
  readonly threads?: number
  /** ORT optimizer names to skip, e.g. ["MatMulAddFusion"] (it blocks QDQ int8 fusions). */
  readonly disabledOptimizers?: readonly string[]
  /** Fusions whose absence is accepted instead of failing, e.g. ["attention"] for a graph exported without it. */
  readonly allowMissing?: readonly FusionKind[]
  /**
   * Keep only these graph outputs (e.g. ["sentence_embedding"]); kiln.json lists only them. When
   * what remains reads the final hidden state through a first-token Gather (CLS pooling, the
   * reranker), the last layer is pruned to the CLS row after its attention (see pruneFirstToken).
   */
  readonly outputs?: readonly string[]
}

/** What `outputs` did, as recorded in kiln.json (`optimization.pruning`). */
export interface CompilePruning {
  readonly outputs: readonly string[]
  readonly dropped: readonly string[]
  /** Whether the last layer was pruned to the first token's row. */
  readonly firstToken: boolean
  /** Why it was not (null when it was). */
  readonly reason: string | null
}

export interface CompileResult {
  readonly outDir: string
  /** The manifest written to `<outDir>/kiln.json`. */
  readonly manifest: ModelManifest
  /** Fused op types of the optimised graph and how many of each (also in the manifest). */
  readonly fusedOps: Readonly<Record<string, number>>
  readonly counts: FusionCounts
  /** ORT version and CPU the optimised graph is tied to (level "all"). */
  readonly host: CpuFingerprint
  /** Which outputs were kept and whether the last layer was pruned to the first token (or why not). */
  readonly pruning: CompilePruning
}

/** Protobuf cannot serialise a model of 2 GiB or more; past this the weights go to `<model>_data`. */
const protobufLimit = 2 ** 31 - 1
/** Initializers at least this large go to the external file when one is needed (ORT's own default). */
const externalInitializerMinBytes = 1024

// QAttention is what a quantized graph's attention fuses to.
const attentionOps = ["com.microsoft:Attention", "com.microsoft:MultiHeadAttention", "com.microsoft:QAttention"]
const skipLayerNormOps = ["com.microsoft:SkipLayerNormalization", "com.microsoft:SkipSimplifiedLayerNormalization"]
const int8KernelOps = ["com.microsoft:DynamicQuantizeMatMul", "com.microsoft:MatMulIntegerToFloat", "QLinearMatMul", "com.microsoft:QLinearMatMul"]
const quantizeOps = ["DynamicQuantizeLinear", "QuantizeLinear", "DequantizeLinear", "MatMulInteger", "com.microsoft:QuantizeLinear", "com.microsoft:DequantizeLinear"]

const sumOf = (counts: Readonly<Record<string, number>>, ops: readonly string[]): number => ops.reduce((total, op) => total + (counts[op] ?? 0), 0)

/**
 * Throws a RuntimeError ("missing-fusion") naming every expected fusion the optimised graph lacks:
 * attention (com.microsoft:Attention or MultiHeadAttention), SkipLayerNormalization, and — when the
 * input graph has quantized ops — int8 MatMul kernels (DynamicQuantizeMatMul / MatMulIntegerToFloat /
 * QLinearMatMul) with no MatMulInteger left over. The manifest's scheme alone does not count: a
 * mixed-precision search may keep every layer in float, and then there is nothing to fuse.
 */
export const expectFusions = (counts: FusionCounts, manifest: ModelManifest, options: { readonly allowMissing?: readonly FusionKind[] } = {}): void => {
  const allowed = new Set(options.allowMissing ?? [])
  const problems: string[] = []
  const { input, optimized } = counts
  if (!allowed.has("attention") && sumOf(optimized, attentionOps) === 0) {
    problems.push(
      "attention: the optimised graph has no com.microsoft:Attention or MultiHeadAttention " +
        `(${optimized.Softmax ?? 0} Softmax, ${optimized.MatMul ?? 0} MatMul left); ORT only fuses the opset ≤ 12 attention pattern, so the exporter must emit com.microsoft:Attention itself`,
    )
  }
  if (!allowed.has("skip-layer-norm") && sumOf(optimized, skipLayerNormOps) === 0) {
    problems.push(
      "SkipLayerNormalization: no Add + LayerNormalization pair was fused " +
        `(${optimized.LayerNormalization ?? 0} LayerNormalization left); ORT needs both Add inputs to have the same known 3-D shape — check the graph's value_info for the residual branch`,
    )
  }
  const quantizedInput = sumOf(input, [...quantizeOps, ...int8KernelOps, "com.microsoft:QAttention"]) > 0
  if (!allowed.has("int8-matmul") && quantizedInput) {
    const kernels = sumOf(optimized, int8KernelOps)
    const leftover = optimized.MatMulInteger ?? 0
    if (kernels === 0) {
      problems.push(
        `int8 MatMul kernels: the input graph has quantized ops (${manifest.quantization?.scheme ?? "no scheme recorded"}) but the optimised graph has no DynamicQuantizeMatMul, MatMulIntegerToFloat or QLinearMatMul ` +
          "(int8 would run as slow as fp32); if MatMul+Add became Gemm, disable MatMulAddFusion",
      )
    } else if (leftover > 0) {
      problems.push(`int8 MatMul kernels: ${leftover} MatMulInteger of ${(input.MatMulInteger ?? 0)} in the input were left unfused`)
    }
  }
  if (problems.length > 0) {
    throw new RuntimeError("missing-fusion", `expected fusion${problems.length > 1 ? "s" : ""} did not happen: ${problems.join("; ")}`)
  }
}

/** Op types the optimiser produced: contrib-domain kernels and anything it made more of, with their counts. */
export const fusedOpCounts = (counts: FusionCounts): Record<string, number> => {
  const fused: Record<string, number> = {}
  for (const [op, n] of Object.entries(counts.optimized)) {
    if (op.startsWith("com.microsoft:") || n > (counts.input[op] ?? 0)) fused[op] = n
  }
  return fused
}

const fileSize = (path: string): number => (existsSync(path) ? statSync(path).size : 0)

/**
 * Optimises the model folder `modelDir` with ONNX Runtime into `outDir` (same layout): the graph
 * saved at `level` (default "all"; weights external past 2 GB), every other file copied, kiln.json
 * rewritten with `optimization: { engine, level, fusedOps }`. Fails with a RuntimeError when an
 * expected fusion did not happen (see expectFusions) — before kiln.json is written, so a failed
 * compile never looks like a model folder. A level-"all" graph is tied to this ORT version and CPU:
 * the manifest's optimization entry also records `tiedTo` (ORT, CPU model, features). With
 * `outputs`, the other graph outputs are dropped before optimising (kiln.json lists only the kept
 * ones). The last layer is pruned to the first token whenever the kept outputs read only that row
 * (CLS pooling without last_hidden_state, a reranker's logits); the result's `pruning` (also
 * `optimization.pruning` in kiln.json) says whether, or why not.
 */
export const compileForCpu = async (modelDir: string, outDir: string, options: CompileForCpuOptions = {}): Promise<CompileResult> => {
  const level = options.level ?? "all"
  const source = resolve(modelDir)
  const target = resolve(outDir)
  if (target === source || target.startsWith(source + sep)) {
    throw new RuntimeError("invalid-option", `compileForCpu: outDir ${target} is inside the model folder ${source}; write the optimised model elsewhere`, { path: target })
  }
  const manifest = readModelManifest(source)
  const modelPath = join(source, manifest.model)
  if (!existsSync(modelPath)) {
    throw new RuntimeError("invalid-model", `${join(source, MANIFEST_FILE)}: field "model" names ${manifest.model}, which does not exist`, { path: modelPath })
  }
  const totalBytes = fileSize(modelPath) + (manifest.externalData ? fileSize(join(source, manifest.externalData)) : 0)
  const external = totalBytes >= protobufLimit

  let inputModel: OnnxModel
  try {
    inputModel = await readModel(modelPath)
  } catch (cause) {
    throw new RuntimeError("invalid-model", `${modelPath}: cannot read the ONNX graph: ${messageOf(cause)}`, { path: modelPath, cause })
  }
  // Exact, so always tried: a reranker's logits read only the first token whatever the caller keeps.
  const pruned = pruneForOutputs(inputModel, options.outputs ?? manifest.outputs.map((o) => o.name))
  const pruning: CompilePruning = { outputs: pruned.outputs, dropped: pruned.dropped, firstToken: pruned.pruned, reason: pruned.reason }
  const inputCounts = opTypeCounts(pruned.model)
  await mkdir(target, { recursive: true })
  // A manifest left by an earlier compile into this folder must not survive a failed one.
  await rm(join(target, MANIFEST_FILE), { force: true })
  const optimizedPath = join(target, manifest.model)
  // ORT optimises a file: an edited graph goes to a scratch folder inside the target first.
  const scratch = join(target, `.kiln-compile-${process.pid}`)
  let result: Awaited<ReturnType<typeof optimizeWithOrt>>
  try {
    let graphPath = modelPath
    if (pruned.model !== inputModel) {
      graphPath = (await writeModel(pruned.model, join(scratch, "model.onnx"), { externalData: external ? "always" : "never" })).modelPath
    }
    result = await optimizeWithOrt(graphPath, optimizedPath, {
      level,
      ...(options.threads !== undefined ? { intraOpNumThreads: options.threads } : {}),
      ...(external ? { externalDataThreshold: externalInitializerMinBytes } : {}),
      ...(options.disabledOptimizers?.length ? { disabledOptimizers: options.disabledOptimizers } : {}),
    })
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
  const counts: FusionCounts = { input: inputCounts, optimized: result.opTypeCounts }
  expectFusions(counts, manifest, { allowMissing: options.allowMissing ?? [] })

  // Everything but the graph, its old weights file and the manifest is carried over unchanged.
  const skip = new Set([manifest.model, MANIFEST_FILE, ...(manifest.externalData ? [manifest.externalData] : [])].map((p) => join(source, p)))
  await cp(source, target, { recursive: true, filter: (path) => !skip.has(resolve(path)) })
  const keptOutputs = manifest.outputs.filter((o) => pruning.outputs.includes(o.name))

  const host = cpuFingerprint()
  const fusedOps = fusedOpCounts(counts)
  const written = ModelManifest.parse({
    ...manifest,
    outputs: keptOutputs,
    externalData: result.dataFileName === undefined ? null : join(dirname(manifest.model), result.dataFileName).split(sep).join("/"),
    optimization: { engine: `onnxruntime-node ${host.ort}`, level, fusedOps, pruning },
  })
  const json = { ...written, optimization: { ...written.optimization, ...(level === "all" ? { tiedTo: host } : {}) } }
  await writeFile(join(target, MANIFEST_FILE), JSON.stringify(json, null, 2) + "\n")
  return { outDir: target, manifest: written, fusedOps, counts, host, pruning }
}

/** The host a compiled model folder's graph is tied to (`optimization.tiedTo` in kiln.json), or null. */
export const readOptimizationHost = (modelDir: string): CpuFingerprint | null => {
  try {
    return readModelManifest(modelDir).optimization?.tiedTo ?? null
  } catch (cause) {
    throw new RuntimeError("invalid-model", messageOf(cause), { path: join(modelDir, MANIFEST_FILE), cause })
  }
}
