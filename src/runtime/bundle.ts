// writeBundle: turns a kiln model folder into a self-contained deployment bundle — the model
// file(s), tokenizer files, config.json, kiln.json and runtime.json — with relative paths only.
import { existsSync } from "node:fs"
import { copyFile, mkdir, writeFile } from "node:fs/promises"
import { dirname, join, resolve, sep } from "node:path"
import { MANIFEST_FILE, type ModelManifest, OUTPUT_NAMES, readModelManifest } from "../artifacts/index.ts"
import { ortVersion } from "./cpu-fingerprint.ts"
import { RuntimeError } from "./errors.ts"
import { readOptimizationHost } from "./optimize.ts"
import { InputRole, parseRuntimeConfig, RUNTIME_FILE, type RuntimeConfig, SessionOptionsSpec } from "./runtime-config.ts"

export interface WriteBundleOptions {
  /** Query instruction prepended by Embedder.embed(texts, { input: "query" }); default none. */
  readonly instruction?: string
  /** Truncation length; default the static seqlen, else the model's max length. */
  readonly maxLength?: number
  /** Overrides of the default session options (see defaultSessionOptions). */
  readonly sessionOptions?: Partial<SessionOptionsSpec>
}

export interface WrittenBundle {
  readonly dir: string
  readonly config: RuntimeConfig
  /** Files written, relative to `dir`. */
  readonly files: readonly string[]
}

const requiredFiles = ["config.json", "tokenizer.json", "tokenizer_config.json"]
const optionalTokenizerFiles = ["special_tokens_map.json", "added_tokens.json", "vocab.txt", "sentencepiece.bpe.model"]

/**
 * Throughput-oriented defaults: one inter-op thread and sequential execution (an encoder is a
 * chain; parallel mode only adds scheduling), the CPU memory arena and memory patterns on (buffers
 * are reused across same-shaped runs), and no second optimisation of a graph compile already
 * optimised.
 */
export const defaultSessionOptions = (manifest: ModelManifest): SessionOptionsSpec =>
  SessionOptionsSpec.parse({ graphOptimizationLevel: manifest.optimization?.level === "all" ? "disabled" : "all" })

const outputsFor = (manifest: ModelManifest, where: string): RuntimeConfig["io"]["outputs"] => {
  const present = new Set(manifest.outputs.map((o) => o.name))
  const has = (name: string) => (present.has(name) ? name : undefined)
  const outputs: RuntimeConfig["io"]["outputs"] =
    manifest.task === "embedding"
      ? { dense: has(OUTPUT_NAMES.embedding[1]), tokens: has(OUTPUT_NAMES.embedding[0]) }
      : manifest.task === "reranker"
        ? { logits: has(OUTPUT_NAMES.reranker[0]) }
        : { dense: has(OUTPUT_NAMES.m3[0]), sparse: has(OUTPUT_NAMES.m3[1]), colbert: has(OUTPUT_NAMES.m3[2]) }
  const known = Object.values(outputs).filter((name) => name !== undefined)
  if (known.length === 0) {
    throw new RuntimeError("invalid-model", `${where}: field "outputs": none of ${OUTPUT_NAMES[manifest.task].join(", ")} (the ${manifest.task} outputs) is present`, { path: where })
  }
  return Object.fromEntries(Object.entries(outputs).filter(([, name]) => name !== undefined))
}

const inputsFor = (manifest: ModelManifest, where: string): RuntimeConfig["io"]["inputs"] =>
  manifest.inputs.map((input, i) => {
    const role = InputRole.safeParse(input.name)
    if (!role.success) {
      throw new RuntimeError("invalid-model", `${where}: field "inputs.${i}.name": "${input.name}" is not an input the runtime can feed (input_ids, attention_mask, token_type_ids)`, { path: where })
    }
    if (input.dtype !== "int64" && input.dtype !== "int32") {
      throw new RuntimeError("invalid-model", `${where}: field "inputs.${i}.dtype": ${input.dtype} for "${input.name}", expected int64 or int32`, { path: where })
    }
    return { name: input.name, role: role.data, dtype: input.dtype }
  })

/** Writes the deployment bundle for the model folder `modelDir` into `outDir`. */
export const writeBundle = async (modelDir: string, outDir: string, options: WriteBundleOptions = {}): Promise<WrittenBundle> => {
  const source = resolve(modelDir)
  const target = resolve(outDir)
  if (target === source || target.startsWith(source + sep)) {
    throw new RuntimeError("invalid-option", `writeBundle: outDir ${target} is inside the model folder ${source}; write the bundle elsewhere`, { path: target })
  }
  const manifest = readModelManifest(source)
  const where = join(source, MANIFEST_FILE)
  const modelFiles = [manifest.model, ...(manifest.externalData ? [manifest.externalData] : [])]
  for (const file of [...modelFiles, ...requiredFiles]) {
    if (!existsSync(join(source, file))) throw new RuntimeError("invalid-model", `${source}: no ${file}; a bundle needs the model, tokenizer.json, tokenizer_config.json and config.json`, { path: join(source, file) })
  }
  const limit = manifest.seqlen ?? manifest.maxLength
  if (options.maxLength !== undefined && (!Number.isInteger(options.maxLength) || options.maxLength < 1 || options.maxLength > limit)) {
    throw new RuntimeError("invalid-option", `writeBundle: maxLength ${options.maxLength} must be an integer in [1, ${limit}] (the model's ${manifest.seqlen ? "static seqlen" : "max length"})`)
  }
  const batchDim = manifest.inputs[0]?.shape[0]
  const outputs = outputsFor(manifest, where)
  const pooledInGraph = manifest.task !== "reranker" && outputs.dense !== undefined && manifest.pooling !== null
  const config = parseRuntimeConfig(
    {
      runtime: 1,
      engine: "onnxruntime",
      engineVersion: ortVersion(),
      task: manifest.task,
      model: manifest.model,
      externalData: manifest.externalData,
      tokenizer: ".",
      io: { inputs: inputsFor(manifest, where), outputs, batch: typeof batchDim === "number" ? batchDim : null },
      seqlen: manifest.seqlen,
      maxLength: options.maxLength ?? limit,
      hiddenSize: manifest.hiddenSize,
      // BGE embeddings are CLS-pooled and normalised; the manifest says what the graph already did.
      pooling: manifest.task === "reranker" ? null : (manifest.pooling ?? "cls"),
      pooledInGraph,
      normalize: manifest.task !== "reranker",
      normalizedInGraph: pooledInGraph && manifest.normalized,
      instruction: options.instruction ?? "",
      sessionOptions: { ...defaultSessionOptions(manifest), ...options.sessionOptions },
      compiledFor: readOptimizationHost(source),
    },
    `writeBundle (${join(target, RUNTIME_FILE)})`,
  )

  const files = [...modelFiles, ...requiredFiles, ...optionalTokenizerFiles.filter((f) => existsSync(join(source, f))), MANIFEST_FILE]
  for (const file of files) {
    await mkdir(dirname(join(target, file)), { recursive: true })
    await copyFile(join(source, file), join(target, file))
  }
  await writeFile(join(target, RUNTIME_FILE), JSON.stringify(config, null, 2) + "\n")
  return { dir: target, config, files: [...files, RUNTIME_FILE] }
}
