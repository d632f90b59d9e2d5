// The one function every model pipeline is built by: a preset and a precision in, the chain out —
// the checkpoint from the Hub (or a local folder, checked against the preset), export, then for
// fp16 / int8 calibrate + quantize, compile for the target, deploy with the preset's query
// instruction, and evaluate on the preset's evaluation set; fidelity against the fp32 deployment
// (against the plain export for fp32) gates the run, and bench measures it.
import type { Node, Pipeline } from "../../src/engine/index.ts"
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

export const targets = ["cpu"] as const
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

  const exported = exportOnnx({ task: preset.task }).to(model)
  // An embedding model's users read only the CLS embedding: compile keeps it alone, and the last
  // layer then runs on the first token (rerankers are pruned that way always; bge-m3 keeps its heads).
  const compileFor = () => compile({ target: run.target === "cpu" ? "cpu" : "auto", ...(preset.task === "embedding" ? { outputs: ["sentence_embedding"] } : {}) })
  const deployFor = () => deploy(preset.instruction !== undefined ? { instruction: preset.instruction } : {})
  const benchFor = () => bench({ batch: [1, 8] }, { dataset: pairs })
  const name = `${preset.name}-${run.precision}`

  if (run.precision === "fp32") {
    const plain = deployFor().as("deploy-export").to(exported)
    return pipeline(name, exported)
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
  return pipeline(name, exported)
    .then(quantize(scheme, { calibration }))
    .then(compileFor())
    .then(deployFor())
    .fork(evaluation(reportNodes.evaluate), fidelity(gate(preset, run.precision), { reference: fp32, dataset: pairs }), benchFor())
    .also(evaluation(reportNodes.evaluateFp32).to(fp32))
}
