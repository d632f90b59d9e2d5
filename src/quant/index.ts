// Public surface of the quantization math: parameters, quantize/dequantize, float16 conversion and
// activation calibration. Pure TypeScript on typed arrays; nothing here touches ONNX.

export { AbsHistogram } from "./abs-histogram.ts"
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
export { float16BitsToFloat32Bits, float16ToFloat32, float32BitsToFloat16Bits, float32ToFloat16 } from "./float16.ts"
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
