// The one function every model pipeline is built by: a preset and a precision in, the chain out —
// the checkpoint from the Hub (or a local folder, checked against the preset), export, then for
// fp16 / int8 calibrate + quantize, compile for the target, deploy with the preset's query
// instruction, and evaluate on the preset's evaluation set; fidelity against the fp32 deployment
// (against the plain export for fp32) gates the run, and bench measures it.
// On target vacc (a VastAI card, or kiln's stand-ins) the chain is the seed's device flow: the
// device export (static-shape-ready int32 inputs, no pooler, dense CLS for bge-m3), vamc fp16 at
// every device seqlen of the preset, or int8 from calibrate → quantize (vamc's quantize block
// with the preset's mixed-precision exclude list) at the calibration seqlen; evaluation and
// fidelity through vaststreamx against the same export on ONNX Runtime; bench through vamp.
import type { Applied, Node, Pipeline } from "../../src/engine/index.ts"
import { chooseTarget, deviceExportParams } from "../../src/targets/index.ts"
import { pipeline } from "../../src/engine/index.ts"
import type { HubSettings } from "../../src/hub/index.ts"
import { bench } from "../steps/bench.ts"
import { compile } from "../steps/compile.ts"
import { rerankDataset, stsDataset } from "../steps/datasets.ts"
import { deploy } from "../steps/deploy.ts"
import { evaluate, evaluateRerank } from "../steps/evaluate.ts"
import { exportOnnx } from "../steps/export-onnx.ts"
import { fidelity } from "../steps/fidelity.ts"
import { hubRerankDataset, hubStsDataset } from "../steps/hub-datasets.ts"
import { calibrate } from "../steps/calibrate.ts"
import { quantize } from "../steps/quantize.ts"
import { hf } from "../sources/hf.ts"
import { checkConfigAgainstPreset } from "./check-config.ts"
import { datasetPresets, type DatasetPresetName } from "./datasets.ts"
import type { ModelPreset, Precision } from "./models.ts"

export const targets = ["cpu", "vacc", "auto"] as const
export type Target = (typeof targets)[number]

export interface PresetRun {
  readonly precision: Precision
  readonly target: Target
  /** The checkpoint folder to use instead of the Hub. */
  readonly modelDir?: string | undefined
  /** Hub revision instead of the preset's. */
  readonly revision?: string | undefined
  /** Local files instead of the Hub's evaluation and calibration sets. */
  readonly evalFile?: string | undefined
  readonly calibrationFile?: string | undefined
  /** Hub settings (tests point them at a local server); default from the environment. */
  readonly hub?: () => HubSettings
  /** The lock file variant (Pipeline.variant): the pipeline file's flags that change its graph. */
  readonly variant?: string | undefined
}

export class PresetRunError extends Error {
  override readonly name = "PresetRunError"
}

/** Node ids the run's report reads. */
export const reportNodes = { evaluate: "evaluate", evaluateFp32: "evaluate-fp32", fidelity: "fidelity", bench: "bench" } as const

/** Fidelity floors by precision: what a deployment must keep of its reference. */
const gate = (preset: ModelPreset, precision: Precision): { min: Record<string, number>; maxDrop?: Record<string, number> } =>
  preset.task === "reranker"
    ? { min: { score_spearman: precision === "int8" ? 0.99 : 0.999 } }
    : { min: { cosine_mean: precision === "int8" ? 0.99 : 0.999 }, maxDrop: { cosine_spearman: precision === "int8" ? 0.01 : 0.002 } }

export const presetPipeline = (preset: ModelPreset, run: PresetRun): Pipeline<"deployment"> => {
  if (!preset.precisions.includes(run.precision)) {
    throw new PresetRunError(`${preset.name} cannot be built at ${run.precision}; it supports ${preset.precisions.join(", ")}`)
  }
  const hubOptions = run.hub !== undefined ? { settings: run.hub } : {}
  const model = hf(preset.repo, {
    id: preset.name,
    revision: run.revision ?? preset.revision,
    check: (dir) => checkConfigAgainstPreset(preset, dir),
    ...(run.modelDir !== undefined ? { localDir: run.modelDir } : {}),
    ...hubOptions,
  })
  // One node per dataset: bge-m3 evaluates on the set it calibrates on.
  const stsSets = new Map<DatasetPresetName, Node<"sts-dataset">>()
  const stsSet = (name: DatasetPresetName) => {
    const spec = datasetPresets[name]
    if (!stsSets.has(name)) stsSets.set(name, hubStsDataset(spec, hubOptions))
    return stsSets.get(name)!
  }
  const evalSpec = datasetPresets[preset.evalSet]
  const pairs = run.calibrationFile !== undefined ? stsDataset(run.calibrationFile, "calibration-pairs") : stsSet(preset.calibrationSet)
  const evaluation =
    evalSpec.kind === "rerank"
      ? ((dataset) => (id: string) => evaluateRerank({}, { dataset }).as(id))(run.evalFile !== undefined ? rerankDataset(run.evalFile, "eval-set") : hubRerankDataset(evalSpec, hubOptions))
      : ((dataset) => (id: string) => evaluate({}, { dataset }).as(id))(run.evalFile !== undefined ? stsDataset(run.evalFile, "eval-set") : stsSet(preset.evalSet))

  const target = chooseTarget(run.target).target.name
  const name = `${preset.name}-${run.precision}`
  const variant = { variant: run.variant }
  if (target === "vacc") return vaccPipeline(preset, run, { model, pairs, evaluation, name, variant })

  const exported = exportOnnx({ task: preset.task }).to(model)
  // An embedding model's users read only the CLS embedding: compile keeps it alone, and the last
  // layer then runs on the first token (rerankers are pruned that way always; bge-m3 keeps its heads).
  const compileFor = () => compile({ target: "cpu", ...(preset.task === "embedding" ? { outputs: ["sentence_embedding"] } : {}) })
  const deployFor = () => deploy(preset.instruction !== undefined ? { instruction: preset.instruction } : {})
  const benchFor = () => bench({ batch: [1, 8] }, { dataset: pairs })

  if (run.precision === "fp32") {
    const plain = deployFor().as("deploy-export").to(exported)
    return pipeline(name, exported, variant)
      .then(compileFor())
      .then(deployFor())
      .fork(evaluation(reportNodes.evaluate), fidelity(gate(preset, "fp32"), { reference: plain, dataset: pairs }), benchFor())
  }

  const fp32 = deployFor().as("deploy-fp32").to(compileFor().as("compile-fp32").to(exported))
  const calibration = calibrate({ samples: 100, seqlen: preset.seqlen }, { dataset: pairs }).to(exported)
  const scheme =
    run.precision === "fp16"
      ? ({ scheme: "fp16" } as const)
      : ({ scheme: "static-int8", method: preset.int8.method, exclude: "auto", budget: preset.int8.budget } as const)
  return pipeline(name, exported, variant)
    .then(quantize(scheme, { calibration }))
    .then(compileFor())
    .then(deployFor())
    .fork(evaluation(reportNodes.evaluate), fidelity(gate(preset, run.precision), { reference: fp32, dataset: pairs }), benchFor())
    .also(evaluation(reportNodes.evaluateFp32).to(fp32))
}

/** vamc's calibrate_mode for the preset's int8 method (vamc knows max and percentile). */
const vamcCalibrateMode = (preset: ModelPreset) => (preset.int8.method === "max" ? "max" : "percentile")

/** The quantize step's vacc preset holding the seed's mixed-precision exclude list for this model, if it has one. */
const vaccQuantizePreset = (preset: ModelPreset) => (preset.name === "bge-m3" || preset.name === "bge-reranker-v2-m3" ? preset.name : undefined)

const vaccPipeline = (
  preset: ModelPreset,
  run: PresetRun,
  shared: { model: Node<"hf-checkpoint">; pairs: Node<"sts-dataset">; evaluation: (id: string) => Applied<"deployment", "eval-report">; name: string; variant: { variant?: string | undefined } },
): Pipeline<"deployment"> => {
  const { model, pairs, evaluation, name, variant } = shared
  if (run.precision === "fp32") throw new PresetRunError(`${preset.name}: the card runs fp16 or int8 (vamc's backend dtypes), not fp32; use --precision fp16 or int8 with --target vacc`)
  // bge-m3 on the card is its dense CLS embedding (the vendor compiles that output only).
  const exported = exportOnnx(deviceExportParams(preset.task === "reranker" ? "reranker" : "embedding")).to(model)
  const deployFor = () => deploy(preset.instruction !== undefined ? { instruction: preset.instruction } : {})
  // The fp32 reference is the same export on ONNX Runtime here: fidelity then measures the card alone.
  const reference = deployFor().as("deploy-fp32").to(exported)
  const checks = [evaluation(reportNodes.evaluate), fidelity(gate(preset, run.precision), { reference, dataset: pairs }), bench({ batch: [1, 8] }, { dataset: pairs })] as const
  if (run.precision === "fp16") {
    return pipeline(name, exported, variant)
      .then(compile({ target: "vacc", seqlens: [...preset.deviceSeqlens] }))
      .then(deployFor())
      .fork(...checks)
      .also(evaluation(reportNodes.evaluateFp32).to(reference))
  }
  // int8: vamc calibrates on the calibrate step's npz samples, at their seqlen.
  const calibration = calibrate({ samples: 100, seqlen: preset.seqlen }, { dataset: pairs }).to(exported)
  const vaccPreset = vaccQuantizePreset(preset)
  return pipeline(name, exported, variant)
    .then(quantize({ target: "vacc", ...(vaccPreset !== undefined ? { preset: vaccPreset } : { calibrateMode: vamcCalibrateMode(preset) }) }, { calibration }))
    .then(compile({ target: "vacc", seqlens: [preset.seqlen] }))
    .then(deployFor())
    .fork(...checks)
    .also(evaluation(reportNodes.evaluateFp32).to(reference))
}
