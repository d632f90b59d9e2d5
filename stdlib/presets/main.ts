// What a model's pipeline file runs: its flags (--precision, --target, --model-dir, --revision,
// --eval, --calibration) on top of the run CLI's, the preset's pipeline (its lock file named by
// the flags that change the graph), and after a real run the "measured vs published" table; every
// run's report (rows per precision, with the published figures).
import { mainWithInputs } from "../../src/cli/index.ts"
import { chooseTarget } from "../../src/targets/index.ts"
import { runReport } from "../report.ts"
import { modelPreset, type Precision } from "./models.ts"
import { presetPipeline, type Target, targets } from "./pipeline.ts"
import { presetReportSpec, printMeasuredVsPublished } from "./published.ts"

/** What a pipeline file fixes: its only precision, and the target its --target defaults to. */
export interface PresetFixed {
  readonly precision?: Precision
  readonly target?: Target
}

export const presetInputs = (name: string, fixed: PresetFixed = {}) => {
  const preset = modelPreset(name)
  return {
    precision: { flag: "precision", type: "choice", choices: fixed.precision !== undefined ? [fixed.precision] : preset.precisions, default: fixed.precision ?? "fp32", description: "weights and arithmetic of the deployed model" },
    target: { flag: "target", type: "choice", choices: targets, default: fixed.target ?? "cpu", description: "where the model runs: cpu (ONNX Runtime on this machine), vacc (a VastAI card through vamc / vaststreamx / vamp, or kiln's stand-ins; fp16 and int8), auto (vacc when its tools and a die are found, else cpu)" },
    modelDir: { flag: "model-dir", env: "KILN_MODEL_DIR", type: "dir", optional: true, description: `a folder holding ${preset.repo} (else it comes from the Hugging Face cache or the Hub)` },
    revision: { flag: "revision", type: "text", optional: true, description: `Hub branch, tag or commit of ${preset.repo} (default ${preset.revision}; the lock file records the commit)` },
    evalFile: { flag: "eval", env: "KILN_EVAL", type: "file", optional: true, description: `a local copy of the evaluation set (default: ${preset.evalSet} from the Hub)` },
    calibrationFile: { flag: "calibration", env: "KILN_CALIBRATION", type: "file", optional: true, description: `STS pairs for calibration and fidelity (default: ${preset.calibrationSet} from the Hub)` },
  } as const
}

/**
 * Which lock file a run of a pipeline file keeps (Pipeline.variant): none for the file's own
 * precision on the CPU, else the precision (when the file is not fixed to it) and the target —
 * `bge-m3.int8-vacc.lock.json` — so runs with other flags do not overwrite each other's.
 */
export const presetVariant = (fixed: PresetFixed, precision: Precision, target: string): string | undefined => {
  const parts = [...(fixed.precision === undefined && precision !== "fp32" ? [precision] : []), ...(target !== (fixed.target ?? "cpu") ? [target] : [])]
  return parts.length > 0 ? parts.join("-") : undefined
}

/** The body of pipelines/<model>.ts. */
export const presetMain = (meta: { readonly main: boolean; readonly path: string }, name: string, fixed: PresetFixed = {}): void => {
  const preset = modelPreset(name)
  let precision: Precision = fixed.precision ?? "fp32"
  mainWithInputs(
    meta,
    presetInputs(name, fixed),
    (values) => {
      precision = values.precision as Precision
      // "auto" is resolved once, here: the chain, the lock file and the steps all follow the choice, which is printed.
      const chosen = chooseTarget(values.target as Target)
      if (values.target === "auto") process.stderr.write(`target ${chosen.why}\n`)
      const target = chosen.target.name as Target
      return presetPipeline(preset, {
        precision,
        target,
        variant: presetVariant(fixed, precision, target),
        modelDir: values.modelDir,
        revision: values.revision,
        evalFile: values.evalFile,
        calibrationFile: values.calibrationFile,
      })
    },
    { afterRun: (result) => printMeasuredVsPublished(preset, precision, result), report: runReport(() => presetReportSpec(preset, precision)) },
  )
}
