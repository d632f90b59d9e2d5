// Model presets (the ten BGE models), the evaluation sets they name, and the one function that
// builds each model's pipeline.
export { datasetPresets, type DatasetPreset, type DatasetPresetName } from "./datasets.ts"
export { modelPreset, modelPresets, type ModelPreset, type Precision, type PresetShape, type PublishedFigure } from "./models.ts"
export { checkConfigAgainstPreset, PresetMismatchError } from "./check-config.ts"
export { presetPipeline, PresetRunError, reportNodes, targets, type PresetRun, type Target } from "./pipeline.ts"
export { measuredVsPublished, presetReportSpec, printMeasuredVsPublished } from "./published.ts"
export { presetInputs, presetMain, presetVariant, type PresetFixed } from "./main.ts"
