// Calibration sets: tokenized samples written once for vamc (float32 npz), vamp (int32 npz +
// datalist) and kiln's own quantizer (which reads them back), described by calibration.json.

export { CalibrationSetError, type CalibrationSetErrorReason } from "./errors.ts"
export {
  CALIBRATION_MANIFEST,
  CalibrationManifest,
  VAMC_KEYS,
  VAMP_DATALIST,
  VAMP_DIR,
  VAMP_KEYS,
  vamcSampleFile,
  vampSampleFile,
} from "./layout.ts"
export { absoluteDatalist, readCalibrationManifest, readCalibrationSet, type CalibrationSample, type CalibrationSet } from "./read-calibration-set.ts"
export {
  WriteCalibrationSetOptionsSchema,
  writeCalibrationSet,
  type CalibrationTokenRow,
  type WriteCalibrationSetOptions,
  type WrittenCalibrationSet,
} from "./write-calibration-set.ts"
