// Public surface of the exporter: Hugging Face checkpoints of any registered model family (BGE
// embedding, reranker and bge-m3 models …) to deterministic ONNX folders in the transformers.js layout.
//
//   const result = await exportEncoder({ checkpointDir: "bge-m3", outDir: "out", task: "m3" })
//   result.manifest   // kiln.json contents: inputs, outputs, shapes, dtypes, task, pooling
//
// Runtime post-processing the graph leaves out on purpose: bge-m3's `sparse_vecs` are the raw
// per-token weights relu(sparse_linear(h)) [batch, sequence]; the lexical weights FlagEmbedding
// returns keep the maximum per token id and drop special ids (cls, eos, pad, unk), which depends
// on the tokenizer and is done by the runtime on the ids it fed in.
//
// fp16: weights are stored float16 and the graph computes in float16, except LayerNormalization
// statistics (stash_type 1 = float32) and the final pooling/L2 normalisation (cast to float32).
// Inputs and outputs keep their fp32/int types, so callers feed and read the same tensors
// whatever the dtype. ORT on CPU inserts casts around ops it has no float16 kernel for.
export { exportCli, EXPORT_USAGE } from "./cli.ts"
export { buildEncoderGraph, graphOptions, hasTokenTypeInput, type EncoderGraph } from "./encoder-graph.ts"
export { ExportError, type ExportErrorReason } from "../graph/index.ts"
export { exportEncoder, type ExportResult } from "./export-encoder.ts"
export { copyModelFiles, exportManifest, TOKENIZER_FILES } from "./model-folder.ts"
export { ExportSettings, ExportTask, parseExportSettings, type ExportEncoderOptions, type ExportProgress } from "./options.ts"
export { EXPORTER_VERSION } from "./version.ts"
