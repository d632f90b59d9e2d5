// What a quantized model folder records: the transformers.js file name per scheme, and the
// `quantization: { scheme, details }` entry of kiln.json (src/artifacts/model-manifest.ts).

export type QuantizationScheme = "dynamic-int8" | "static-int8" | "fp16"

/** transformers.js names: int8 variants are model_quantized, fp16 is model_fp16. */
export const quantizedModelFile = (scheme: QuantizationScheme): "onnx/model_quantized.onnx" | "onnx/model_fp16.onnx" =>
  scheme === "fp16" ? "onnx/model_fp16.onnx" : "onnx/model_quantized.onnx"

/** Fits ModelManifest's Quantization (scheme string, free-form details). */
export interface QuantizationRecord {
  readonly scheme: QuantizationScheme
  readonly details: Record<string, unknown>
}

/** kiln.json `weights`: int8 with float layers left over is "mixed". */
export const manifestWeights = (record: QuantizationRecord): "fp16" | "int8" | "mixed" => {
  if (record.scheme === "fp16") return "fp16"
  const floatLeft = record.details.floatNodes
  return Array.isArray(floatLeft) && floatLeft.some((n) => typeof n === "object" && n !== null && !(n as { reason?: string }).reason?.startsWith("embeddings"))
    ? "mixed"
    : "int8"
}
