// exportEncoder: a Hugging Face checkpoint folder of any registered model family (BERT, XLM-R …)
// in, a transformers.js-layout ONNX folder out (config.json, tokenizer files, onnx/model.onnx or
// onnx/model_fp16.onnx [+ …_data past 2 GB], kiln.json). Weights stream from the checkpoint into the file one
// tensor at a time, and the output bytes depend only on the checkpoint and the options.
import { mkdir, rm } from "node:fs/promises"
import { join, relative } from "node:path"
import type { ModelManifest } from "../artifacts/index.ts"
import { CheckpointError, PickleError, PickleSecurityError } from "../checkpoint/index.ts"
import { type ModelCheckpoint, openModel } from "../families/index.ts"
import { ExportError } from "../graph/index.ts"
import { writeModel } from "../onnx/index.ts"
import { ZipError } from "../zip/index.ts"
import { buildEncoderGraph, graphOptions } from "./encoder-graph.ts"
import { copyModelFiles, exportManifest, writeManifest } from "./model-folder.ts"
import { type ExportEncoderOptions, parseExportSettings } from "./options.ts"
import { checkTokenizer } from "./tokenizer-check.ts"

export interface ExportResult {
  readonly outDir: string
  readonly manifest: ModelManifest
  readonly modelPath: string
  /** Undefined when the weights are inside model.onnx. */
  readonly dataPath: string | undefined
  /** Files copied from the checkpoint (config.json, tokenizer files). */
  readonly copied: readonly string[]
  /** Problems that do not stop the export (no tokenizer: transformers.js will not load the folder). */
  readonly warnings: readonly string[]
}

const asExportError = (error: unknown, checkpointDir: string): unknown => {
  if (error instanceof CheckpointError)
    return new ExportError(error.reason === "UnsupportedModelType" ? "UnsupportedModel" : "InvalidCheckpoint", error.message, { file: error.file }, { cause: error })
  if (error instanceof PickleError || error instanceof PickleSecurityError)
    return new ExportError("InvalidCheckpoint", error.message, { file: error.file }, { cause: error })
  // Archive-level faults in a torch checkpoint (zip-slip or symlink entries, zip bombs, CRC errors).
  if (error instanceof ZipError) return new ExportError("InvalidCheckpoint", error.message, { file: error.archive }, { cause: error })
  if (error instanceof Error && !(error instanceof ExportError) && (error as NodeJS.ErrnoException).code !== undefined)
    return new ExportError("InvalidCheckpoint", `${checkpointDir}: ${error.message}`, { file: checkpointDir }, { cause: error })
  return error
}

const open = (dir: string): ModelCheckpoint => {
  try {
    return openModel(dir)
  } catch (error) {
    throw asExportError(error, dir)
  }
}

export const exportEncoder = async (options: ExportEncoderOptions): Promise<ExportResult> => {
  const { checkpointDir, outDir, onProgress, externalData = "auto", signal, ...rest } = options
  if (typeof checkpointDir !== "string" || checkpointDir === "") throw new ExportError("InvalidOptions", "exportEncoder: option \"checkpointDir\" must be a folder path")
  if (typeof outDir !== "string" || outDir === "") throw new ExportError("InvalidOptions", "exportEncoder: option \"outDir\" must be a folder path")
  if (externalData !== "auto" && externalData !== "always") throw new ExportError("InvalidOptions", `exportEncoder: option "externalData" must be "auto" or "always", got ${JSON.stringify(externalData)}`)
  const settings = parseExportSettings(rest)
  const checkpoint = open(checkpointDir)
  try {
    // The family's default pooling filled in (and task / pooling / seqlen checked) before the tokenizer is.
    const resolved = { ...settings, pooling: graphOptions(checkpoint, settings).pooling }
    const warnings = await checkTokenizer(checkpointDir, checkpoint.config.vocabSize, resolved)
    let done = 0
    const graph = buildEncoderGraph(checkpoint, settings, (tensor, bytes) => {
      signal?.throwIfAborted()
      done += bytes
      onProgress?.({ done, total: graph.weightBytes, tensor })
    })
    const onnxDir = join(outDir, "onnx")
    // transformers.js picks the file by dtype: model.onnx for fp32, model_fp16.onnx for fp16.
    const modelFile = settings.dtype === "fp16" ? "model_fp16.onnx" : "model.onnx"
    try {
      await mkdir(onnxDir, { recursive: true })
      // A previous export into the same folder may have left a data file this one does not need.
      await rm(join(onnxDir, `${modelFile}_data`), { force: true })
    } catch (cause) {
      throw new ExportError("WriteFailed", `cannot create ${onnxDir}: ${(cause as Error).message}`, { file: onnxDir }, { cause })
    }
    let written
    try {
      written = await writeModel(graph.model, join(onnxDir, modelFile), { externalData })
    } catch (cause) {
      if (signal?.aborted) throw signal.reason
      // A read failure inside a weight thunk (truncated file …) surfaces here, wrapped by the writer.
      const inner = (cause as Error).cause
      if (inner instanceof CheckpointError || inner instanceof ZipError) throw asExportError(inner, checkpointDir)
      throw new ExportError("WriteFailed", `writing the ONNX model failed: ${(cause as Error).message}`, { file: onnxDir }, { cause })
    }
    const copied = await copyModelFiles(checkpointDir, outDir)
    const manifest = exportManifest(checkpoint.config, resolved, graph, relative(outDir, written.modelPath), written.dataPath === undefined ? null : relative(outDir, written.dataPath))
    await writeManifest(outDir, manifest)
    return { outDir, manifest, modelPath: written.modelPath, dataPath: written.dataPath, copied, warnings }
  } finally {
    checkpoint.close()
  }
}
