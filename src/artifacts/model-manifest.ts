// kiln.json: what an exported (or quantized, or optimised) model folder holds and how to feed it.
// Written by the exporter, rewritten by quantize/compile, read by deploy and the runtimes. The
// folder itself follows the transformers.js layout (config.json, tokenizer files, onnx/…).
import { join } from "node:path"
import { z } from "zod"
import { readJsonFile } from "../schema/index.ts"

export const ModelTask = z.enum(["embedding", "reranker", "m3"])
export type ModelTask = z.infer<typeof ModelTask>

export const TensorDType = z.enum(["float32", "float16", "int64", "int32", "int8", "uint8"])

/** A dimension: a fixed size, or a symbolic name such as "batch" or "sequence". */
export const Dim = z.union([z.number().int().positive(), z.string().min(1)])

export const TensorSpec = z.object({
  name: z.string().min(1),
  dtype: TensorDType,
  shape: z.array(Dim),
})
export type TensorSpec = z.infer<typeof TensorSpec>

export const Quantization = z.object({
  /** "dynamic-int8" | "static-int8" | "fp16" … as the quantizer records it. */
  scheme: z.string(),
  /** Everything else the quantizer wants to record: calibration method, excluded layers and why. */
  details: z.record(z.string(), z.unknown()).default({}),
})

export const ModelManifest = z.object({
  kiln: z.literal(1),
  task: ModelTask,
  /** The model family that built the graph (a name in src/families' registry: "bert", "xlm-roberta" …). */
  family: z.string().min(1),
  /** Path of the ONNX file relative to the folder, e.g. "onnx/model.onnx" or "onnx/model_quantized.onnx". */
  model: z.string().min(1),
  /** External-data file relative to the folder, when the weights are outside the .onnx file. */
  externalData: z.string().min(1).nullable().default(null),
  opset: z.number().int().positive(),
  inputs: z.array(TensorSpec).min(1),
  outputs: z.array(TensorSpec).min(1),
  /** Fixed sequence length for static-shape exports; null when the sequence axis is dynamic. */
  seqlen: z.number().int().positive().nullable(),
  /** Longest input the model accepts (position table size minus offsets). */
  maxLength: z.number().int().positive(),
  hiddenSize: z.number().int().positive(),
  /** How `dense` embeddings were pooled inside the graph (first, mean or last real token), and whether they are L2-normalised. */
  pooling: z.enum(["cls", "mean", "last"]).nullable(),
  normalized: z.boolean(),
  /** Storage type of the weights. */
  weights: z.enum(["fp32", "fp16", "int8", "mixed"]),
  quantization: Quantization.nullable().default(null),
  /** Present after the local compile step: ORT version and fused-op counts of the optimised graph. */
  optimization: z
    .object({
      engine: z.string(),
      level: z.string(),
      fusedOps: z.record(z.string(), z.number()),
      /** A graph saved at level "all" only runs on this ORT version and a CPU with these features. */
      tiedTo: z.object({ ort: z.string(), cpu: z.string(), features: z.array(z.string()) }).nullable().default(null),
      /** Outputs the compile kept (others dropped), and whether the last layer computes the first token only, or why not. */
      pruning: z
        .object({ outputs: z.array(z.string()), dropped: z.array(z.string()), firstToken: z.boolean(), reason: z.string().nullable() })
        .nullable()
        .default(null),
    })
    .nullable()
    .default(null),
})
export type ModelManifest = z.infer<typeof ModelManifest>

/**
 * Output names by task (inputs are always input_ids, attention_mask and, when the model uses
 * them, token_type_ids):
 *   embedding → last_hidden_state [batch, sequence, hidden], sentence_embedding [batch, hidden]
 *   reranker  → logits [batch, 1]
 *   m3        → dense_vecs [batch, hidden], sparse_vecs [batch, sequence], colbert_vecs [batch, sequence-1, hidden]
 */
export const OUTPUT_NAMES = {
  embedding: ["last_hidden_state", "sentence_embedding"],
  reranker: ["logits"],
  m3: ["dense_vecs", "sparse_vecs", "colbert_vecs"],
} as const satisfies Record<ModelTask, readonly string[]>

export const MANIFEST_FILE = "kiln.json"

export class ManifestError extends Error {
  override readonly name = "ManifestError"
}

/** Reads and validates `<dir>/kiln.json`; the error names the file and the field. */
export const readModelManifest = (dir: string): ModelManifest => {
  const path = join(dir, MANIFEST_FILE)
  return readJsonFile(path, ModelManifest, "the model manifest", (error) =>
    new ManifestError(error.problem === "unreadable" ? `${error.message}: is this a kiln model folder?` : error.message, { cause: error }),
  )
}

export const renderModelManifest = (manifest: ModelManifest): string => JSON.stringify(ModelManifest.parse(manifest), null, 2) + "\n"
