// The standard steps pipelines are built from. Each wraps a library in src/.
export { exportOnnx, exportOnnxParams } from "./steps/export-onnx.ts"
export { synthCheckpoint, synthCheckpointParams } from "./steps/synth-checkpoint.ts"
export { rerankDataset, stsDataset, synthRerank, synthSts } from "./steps/datasets.ts"
export { bench, compile, deploy, evaluate, evaluateRerank, fidelity } from "./steps/local.ts"
export { calibrate, quantize, quantizeParams } from "./steps/quantize.ts"
export { printRunTable, type RunRow } from "./report.ts"
