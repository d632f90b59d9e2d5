// What a model's pipeline file runs: its flags (--precision, --target, --model-dir, --revision,
// --eval, --calibration) on top of the run CLI's, the preset's pipeline, and after a real run the
// "measured vs published" table; every run's report (rows per precision, with the published figures).
import { mainWithInputs } from "../../src/cli/index.ts"
import { runReport } from "../report.ts"
import { modelPreset, type Precision } from "./models.ts"
import { presetPipeline, targets } from "./pipeline.ts"
import { presetReportSpec, printMeasuredVsPublished } from "./published.ts"

export const presetInputs = (name: string, fixed: { readonly precision?: Precision } = {}) => {
  const preset = modelPreset(name)
  return {
    precision: { flag: "precision", type: "choice", choices: fixed.precision !== undefined ? [fixed.precision] : preset.precisions, default: fixed.precision ?? "fp32", description: "weights and arithmetic of the deployed model" },
    target: { flag: "target", type: "choice", choices: targets, default: "cpu", description: "where the model runs (cpu: ONNX Runtime on this machine)" },
    modelDir: { flag: "model-dir", env: "KILN_MODEL_DIR", type: "dir", optional: true, description: `a folder holding ${preset.repo} (else it comes from the Hugging Face cache or the Hub)` },
    revision: { flag: "revision", type: "text", optional: true, description: `Hub branch, tag or commit of ${preset.repo} (default ${preset.revision}; the lock file records the commit)` },
    evalFile: { flag: "eval", env: "KILN_EVAL", type: "file", optional: true, description: `a local copy of the evaluation set (default: ${preset.evalSet} from the Hub)` },
    calibrationFile: { flag: "calibration", env: "KILN_CALIBRATION", type: "file", optional: true, description: `STS pairs for calibration and fidelity (default: ${preset.calibrationSet} from the Hub)` },
  } as const
}

/** The body of pipelines/<model>.ts. */
export const presetMain = (meta: { readonly main: boolean; readonly path: string }, name: string, fixed: { readonly precision?: Precision } = {}): void => {
  const preset = modelPreset(name)
  let precision: Precision = fixed.precision ?? "fp32"
  mainWithInputs(
    meta,
    presetInputs(name, fixed),
    (values) => {
      precision = values.precision as Precision
      return presetPipeline(preset, { precision, target: values.target as "cpu", modelDir: values.modelDir, revision: values.revision, evalFile: values.evalFile, calibrationFile: values.calibrationFile })
    },
    { afterRun: (result) => printMeasuredVsPublished(preset, precision, result), report: runReport(() => presetReportSpec(preset, precision)) },
  )
}
