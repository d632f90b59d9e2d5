// The non-ONNX parts of an exported folder (transformers.js layout): config.json and the
// tokenizer files copied byte for byte, and kiln.json describing the model.
import { copyFile, writeFile } from "node:fs/promises"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { MANIFEST_FILE, type ModelManifest, renderModelManifest, type TensorSpec } from "../artifacts/index.ts"
import type { FamilyConfig } from "../families/index.ts"
import type { Pooling } from "../graph/index.ts"
import type { ExportSettings } from "./options.ts"

/** Files a Hugging Face tokenizer may consist of; whichever exist are copied. */
export const TOKENIZER_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "added_tokens.json",
  "sentencepiece.bpe.model",
  "spiece.model",
  "vocab.txt",
  "vocab.json",
  "merges.txt",
] as const

/** Copies config.json and the tokenizer files present; returns the names copied (sorted). */
export const copyModelFiles = async (checkpointDir: string, outDir: string): Promise<string[]> => {
  const copied: string[] = []
  for (const file of ["config.json", ...TOKENIZER_FILES]) {
    const source = join(checkpointDir, file)
    if (!existsSync(source)) continue
    await copyFile(source, join(outDir, file))
    copied.push(file)
  }
  return copied.sort()
}

export const exportManifest = (
  config: FamilyConfig,
  settings: ExportSettings & { readonly pooling: Pooling },
  io: { readonly inputs: readonly TensorSpec[]; readonly outputs: readonly TensorSpec[] },
  model: string,
  externalData: string | null,
): ModelManifest => ({
  kiln: 1,
  task: settings.task,
  family: config.family,
  model,
  externalData,
  opset: settings.opset,
  inputs: [...io.inputs],
  outputs: [...io.outputs],
  seqlen: settings.seqlen ?? null,
  maxLength: config.maxInputLength,
  hiddenSize: config.hiddenSize,
  pooling: settings.task === "reranker" ? null : settings.task === "m3" ? "cls" : settings.pooling,
  normalized: settings.task !== "reranker",
  weights: settings.dtype,
  quantization: null,
  optimization: null,
})

export const writeManifest = async (outDir: string, manifest: ModelManifest): Promise<void> => {
  await writeFile(join(outDir, MANIFEST_FILE), renderModelManifest(manifest))
}
