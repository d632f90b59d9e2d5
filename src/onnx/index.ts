// ONNX I/O for kiln: build graphs, write them (inline or with streamed external data), read them
// back, check their structure and run ORT's optimizer on them.
//
//   import { GraphBuilder, attr, writeModel, readModel, checkModel } from "../onnx/index.ts"
//   const g = new GraphBuilder({ name: "encoder", opset: 17, opsets: { "com.microsoft": 1 } })
//   const x = g.input("x", "float32", ["batch", "seq", 768])
//   const w = g.initializer("dense.weight", "float32", [768, 768], () => lazy.readFloat32()) // thunk: read at write time
//   const b = g.initializer("dense.bias", "float32", [768], new Float32Array(768))
//   const e = g.initializer("embeddings", "float32", [250002, 1024], { chunks: () => rowBlocks() }) // raw byte pieces, streamed
//   const h = g.op("Add", [g.op("MatMul", [x, w]), b])                 // single-output nodes, auto-named "MatMul_0" …
//   const [y] = g.node("LayerNormalization", [h, gamma, beta], { attrs: { axis: -1, epsilon: attr.float(1e-12) }, name: "ln" })
//   const a = g.op("Attention", [y, qkvW, qkvB, mask], { domain: "com.microsoft", attrs: { num_heads: 12 } })
//   g.output(a, "float32", ["batch", "seq", 768])
//   const model = g.build()                                            // runs checkModel (OnnxCheckError lists problems)
//   await writeModel(model, "out/onnx")                                // out/onnx/model.onnx (+ model.onnx_data past ~2 GB)
//   const back = await readModel("out/onnx/model.onnx")               // external bytes stay on disk until read
//   initializerAsFloat32(back, "dense.weight"); opTypeCounts(back)     // { "MatMul": 1, "com.microsoft:Attention": 1, … }
//
// Attribute types are inferred: integer → int, other number → float, string, number[] → ints/floats,
// string[] → strings, tensor(...) → tensor; booleans become ints. Override with attr.float(1) etc.

export { attr, tensor, type AttrInput } from "./attributes.ts"
export { GraphEditor } from "./graph-editor.ts"
export { GraphBuilder, irVersionForOpset, type GraphBuilderOptions, type NodeOptions, type NodeOutputs } from "./builder.ts"
export { checkModel, describeNode, findModelIssues } from "./checker.ts"
export { elementTypeFromOnnx, isElementType, onnxDataTypeOf, rawByteLength, type ElementType } from "./dtype.ts"
export { OnnxBuildError, OnnxCheckError, OnnxOptimizeError, OnnxReadError, OnnxWriteError, type OnnxCheckIssue } from "./errors.ts"
export type {
  Attribute,
  AttributeType,
  AttributeValue,
  Dim,
  OnnxGraph,
  OnnxModel,
  OnnxNode,
  OnnxTensor,
  OpsetImport,
  TensorData,
  ValueInfo,
} from "./model.ts"
export { normalizeDomain } from "./model.ts"
export { findInitializer, initializerAsFloat32, iterateNodes, opKey, opTypeCounts } from "./inspect.ts"
export { createOrtSession, ortSessionOptions, type OrtOptimizationLevel, type OrtSessionSettings } from "./ort-session.ts"
export { optimizeWithOrt, type OptimizeResult, type OptimizeWithOrtOptions } from "./optimize.ts"
export { decodeModel, readModel, resolveExternalLocation, type ReadModelOptions } from "./reader.ts"
export { type ChunkedTensorInput, readTensorBytes, tensorToFloat32, type TensorInput, type TypedArray } from "./tensor-data.ts"
export {
  DEFAULT_EXTERNAL_ALIGNMENT,
  DEFAULT_EXTERNAL_DATA_THRESHOLD,
  DEFAULT_EXTERNAL_MIN_BYTES,
  writeModel,
  type WriteModelOptions,
  type WrittenModel,
} from "./writer.ts"
