// Public surface of quantization: the math (parameters, quantize/dequantize, float16, activation
// calibration) and the ONNX → ONNX passes built on it (dynamic int8, static int8 QDQ, fp16, mixed
// precision with exclusions or an automatic sensitivity search), the integer-kernel proof, and the
// vamc quantize config for the VastAI toolchain. int8 smooths outlier activation channels into the
// weights first (SmoothQuant; on by default when a calibration set is given, `smooth: false` to skip);
// `weightRounding: "gptq"` rounds MatMul/Attention weights against the calibration inputs' Hessian (GPTQ).
//
//   const r = await quantizeModel("m/onnx/model.onnx", "out", { scheme: "static-int8", calibration: "calib", exclude: "auto" })
//   r.file            // "onnx/model_quantized.onnx"
//   r.record          // { scheme: "static-int8", details: { … } } → kiln.json `quantization`
//   await verifyIntegerKernels(join("out", r.file))   // { integerKernels: { "com.microsoft:MatMulIntegerToFloat": 48, … } }

export { AbsHistogram } from "./abs-histogram.ts"
export { channelAbsMax, ChannelRanges, type ChannelRange } from "./channel-ranges.ts"
export {
  ActivationCalibrator,
  CalibrationOptionsSchema,
  calibratedRange,
  parseCalibrationOptions,
  type CalibrationMethod,
  type CalibrationOptions,
  type CalibrationResult,
  type ResolvedCalibrationOptions,
} from "./calibration.ts"
export { entropyThreshold, type EntropySearch } from "./entropy.ts"
export { float16BitsToFloat32Bits, float16ToFloat32, float32BitsToFloat16Bits, float32ToFloat16 } from "../tensor/index.ts"
export {
  asymmetricUint8Params,
  channelLayout,
  channelParams,
  channelRanges,
  outputChannelAxis,
  paramsForRange,
  quantTypeRange,
  symmetricInt8Params,
  tensorParams,
  tensorRange,
  type ChannelLayout,
  type ChannelQuantParams,
  type QuantArrayOf,
  type QuantParams,
  type QuantScheme,
  type QuantType,
  type WeightLayout,
} from "./params.ts"
export { checkPercentile, percentileThreshold } from "./percentile.ts"
export { QuantError, type QuantErrorReason } from "./quant-error.ts"
export { dequantize, dequantizePerChannel, quantize, quantizePerChannel } from "./quantize.ts"
export { RangeObserver } from "./range-observer.ts"
export { roundHalfToEven } from "./round.ts"

export { globToRegExp, resolveExclusions, type ExcludeSpec, type Exclusions } from "./exclude.ts"
export { compareOutputs, judgedOutput, runSessionOutput, withHeldOutSession, type HeldOutFidelity } from "./held-out-fidelity.ts"
export { convertToFloat16, type Fp16Conversion, type Fp16ConversionOptions } from "./fp16.ts"
export { GptqWeightRounder, HessianAccumulator, gptqRoundColumns, type GptqOptions } from "./gptq.ts"
export { Int8Planner, type Int8Build, type Int8PlannerOptions } from "./int8-planner.ts"
export { type ActivationMode, type QuantizedNode } from "./int8-rewrite.ts"
export { INTEGER_KERNELS, verifyIntegerKernels, type IntegerKernelReport } from "./integer-kernels.ts"
export { layerIndexInName, nodeLayerIndex } from "./layer-index.ts"
export { quantizeModel, quantizeOnnxModel, type QuantizeContext, type QuantizedOnnxModel, type QuantizeModelResult } from "./quantize-model.ts"
export {
  DynamicInt8OptionsSchema,
  Fp16OptionsSchema,
  QuantizeOptionsSchema,
  SmoothOptionSchema,
  StaticInt8OptionsSchema,
  parseQuantizeOptions,
  resolveSmoothing,
  type ResolvedSmoothing,
  type QuantizeOptions,
  type ResolvedQuantizeOptions,
} from "./quantize-options.ts"
export { manifestWeights, quantizedModelFile, type QuantizationRecord, type QuantizationScheme } from "./record.ts"
export { searchExclusions, type SensitivityRecord } from "./sensitivity.ts"
export { SWITCH_INPUT, buildSwitchableInt8, switchFlags, type SwitchableInt8Build } from "./switchable-int8.ts"
export {
  applySmoothing,
  layerNormChannelEstimate,
  smoothGroups,
  smoothingScales,
  type SmoothedActivation,
  type SmoothGroup,
  type SmoothRecord,
  type SmoothSource,
} from "./smooth.ts"
export {
  VaccDatasetBlockSchema,
  VaccQuantizeBlockSchema,
  VaccQuantizeOptionsSchema,
  renderVaccQuantizeYaml,
  vaccQuantizeConfig,
  type VaccQuantizeConfig,
  type VaccQuantizeOptions,
} from "./vacc-config.ts"
export { bgeM3VaccPreset, bgeRerankerV2M3VaccPreset, presetOptions, type VaccPreset } from "./vacc-presets.ts"
