// ONNX I/O for kiln: build graphs, write them (inline or with streamed external data), read them
// back, check their structure and run ORT's optimizer on them.
//
//   import { GraphBuilder, attr, writeModel, readModel, checkModel } from "../onnx/index.ts"
//   const g = new GraphBuilder({ name: "encoder", opset: 17, opsets: { "com.microsoft": 1 } })
//   const ids = g.input("input_ids", "int64", ["batch", "seq"])
//   const w = g.initializer("dense.weight", "float32", [768, 768], () => checkpoint.get("w").readFloat32()) // read at write time
//   const h = g.op("MatMul", [x, w])                                   // single output, auto-named "MatMul_0_output_0"
//   const [y, mean, invStd] = g.node("LayerNormalization", [h, gamma, beta], { outputs: 3, attrs: { axis: -1, epsilon: attr.float(1e-12) } })
//   g.output(y, "float32", ["batch", "seq", 768])
//   const model = g.build()                                            // runs checkModel
//   await writeModel(model, "out/onnx")                                // out/onnx/model.onnx (+ model.onnx_data past ~2 GB)

export { attr, tensor, type AttrInput } from "./attributes.ts"
export { GraphBuilder, irVersionForOpset, type GraphBuilderOptions, type NodeOptions, type NodeOutputs } from "./builder.ts"
export { checkModel, describeNode, findModelIssues } from "./checker.ts"
export { elementTypeFromOnnx, isElementType, onnxDataTypeOf, rawByteLength, type ElementType } from "./dtype.ts"
export { OnnxBuildError, OnnxCheckError, OnnxReadError, OnnxWriteError, type OnnxCheckIssue } from "./errors.ts"
export { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits } from "./float16.ts"
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
export { readTensorBytes, tensorToFloat32, type TensorInput, type TypedArray } from "./tensor-data.ts"
export {
  DEFAULT_EXTERNAL_ALIGNMENT,
  DEFAULT_EXTERNAL_DATA_THRESHOLD,
  DEFAULT_EXTERNAL_MIN_BYTES,
  writeModel,
  type WriteModelOptions,
  type WrittenModel,
} from "./writer.ts"
