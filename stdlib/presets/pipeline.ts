// The one function every model pipeline is built by: a preset and a precision in, the chain out —
// the checkpoint from the Hub (or a local folder, checked against the preset), export, then for
// fp16 / int8 calibrate + quantize, compile for the target, deploy with the preset's query
// instruction, embed the evaluation set (and the calibration pairs) once per deployment, evaluate
// from those embeddings; fidelity of the embeddings against the fp32 deployment's (the plain
// export's for fp32) gates the run, and bench measures it.
// On target vacc (a VastAI card, or kiln's stand-ins) the chain is the seed's device flow: the
// device export (static-shape-ready int32 inputs, no pooler, dense CLS for bge-m3), vamc fp16 at
// every device seqlen of the preset, or int8 from calibrate → quantize (vamc's quantize block
// with the preset's mixed-precision exclude list) at the calibration seqlen; embeddings through
// vaststreamx, fidelity against the same export's on ONNX Runtime; bench through vamp.
import type { Node, Pipeline } from "../../src/engine/index.ts"
import { chooseTarget, deviceExportParams } from "../../src/targets/index.ts"
import { pipeline } from "../../src/engine/index.ts"
import type { HubSettings } from "../../src/hub/index.ts"
import { bench } from "../steps/bench.ts"
import { compile } from "../steps/compile.ts"
import { rerankDataset, stsDataset } from "../steps/datasets.ts"
import { deploy } from "../steps/deploy.ts"
import { embed } from "../steps/embed.ts"
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
export const reportNodes = { evaluate: "evaluate", evaluateFp32: "evaluate-fp32", embed: "embed", embedFp32: "embed-fp32", fidelity: "fidelity", bench: "bench" } as const

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
  const evalRerank = evalSpec.kind === "rerank" ? (run.evalFile !== undefined ? rerankDataset(run.evalFile, "eval-set") : hubRerankDataset(evalSpec, hubOptions)) : undefined
  const evalSts = evalSpec.kind === "rerank" ? undefined : run.evalFile !== undefined ? stsDataset(run.evalFile, "eval-set") : stsSet(preset.evalSet)
  // One file for both (--eval and --calibration the same path) is one dataset node, embedded once.
  const pairs =
    run.calibrationFile === undefined ? stsSet(preset.calibrationSet) : run.calibrationFile === run.evalFile && evalSts !== undefined ? evalSts : stsDataset(run.calibrationFile, "calibration-pairs")
  // Each deployment embeds each dataset once ("embed<who>", "-pairs" when the calibration pairs
  // are not the evaluation set); evaluate and fidelity read those embeddings.
  const embedded = new Map<string, Node<"embeddings">>()
  const embedOf = (deployed: Node<"deployment">, who: string, dataset: Node<"sts-dataset">) => {
    const id = `embed${who}${dataset === evalSts ? "" : "-pairs"}`
    if (!embedded.has(id)) embedded.set(id, embed({}, { dataset }).as(id).to(deployed))
    return embedded.get(id)!
  }
  const evaluation = (id: string, deployed: Node<"deployment">, who: string) =>
    evalRerank !== undefined ? evaluateRerank({}, { dataset: evalRerank }).as(id).to(deployed) : evaluate({}, { dataset: evalSts! }).as(id).to(embedOf(deployed, who, evalSts!))
  const fidelityOf = (deployed: Node<"deployment">, reference: Node<"deployment">, who: string, precision: Precision) =>
    fidelity(gate(preset, precision), { reference: embedOf(reference, who, pairs), dataset: pairs }).to(embedOf(deployed, "", pairs))

  const target = chooseTarget(run.target).target.name
  const name = `${preset.name}-${run.precision}`
  const variant = { variant: run.variant }
  if (target === "vacc") return vaccPipeline(preset, run, { model, pairs, evaluation, fidelityOf, name, variant })

  const exported = exportOnnx({ task: preset.task }).to(model)
  // An embedding model's users read only the CLS embedding: compile keeps it alone, and the last
  // layer then runs on the first token (rerankers are pruned that way always; bge-m3 keeps its heads).
  const compileFor = () => compile({ target: "cpu", ...(preset.task === "embedding" ? { outputs: ["sentence_embedding"] } : {}) })
  const deployFor = () => deploy(preset.instruction !== undefined ? { instruction: preset.instruction } : {})
  const benchFor = () => bench({ batch: [1, 8] }, { dataset: pairs })

  if (run.precision === "fp32") {
    const plain = deployFor().as("deploy-export").to(exported)
    const chain = pipeline(name, exported, variant).then(compileFor()).then(deployFor())
    return chain.also(evaluation(reportNodes.evaluate, chain.tail, ""), fidelityOf(chain.tail, plain, "-export", "fp32"), benchFor().to(chain.tail))
  }

  const fp32 = deployFor().as("deploy-fp32").to(compileFor().as("compile-fp32").to(exported))
  const calibration = calibrate({ samples: 100, seqlen: preset.seqlen }, { dataset: pairs }).to(exported)
  const scheme =
    run.precision === "fp16"
      ? ({ scheme: "fp16" } as const)
      : ({ scheme: "static-int8", method: preset.int8.method, exclude: "auto", budget: preset.int8.budget } as const)
  const chain = pipeline(name, exported, variant).then(quantize(scheme, { calibration })).then(compileFor()).then(deployFor())
  return chain.also(
    evaluation(reportNodes.evaluate, chain.tail, ""),
    fidelityOf(chain.tail, fp32, "-fp32", run.precision),
    benchFor().to(chain.tail),
    evaluation(reportNodes.evaluateFp32, fp32, "-fp32"),
  )
}

/** vamc's calibrate_mode for the preset's int8 method (vamc knows max and percentile). */
const vamcCalibrateMode = (preset: ModelPreset) => (preset.int8.method === "max" ? "max" : "percentile")

/** The quantize step's vacc preset holding the seed's mixed-precision exclude list for this model, if it has one. */
const vaccQuantizePreset = (preset: ModelPreset) => (preset.name === "bge-m3" || preset.name === "bge-reranker-v2-m3" ? preset.name : undefined)

const vaccPipeline = (
  preset: ModelPreset,
  run: PresetRun,
  shared: {
    model: Node<"hf-checkpoint">
    pairs: Node<"sts-dataset">
    evaluation: (id: string, deployed: Node<"deployment">, who: string) => Node<"eval-report">
    fidelityOf: (deployed: Node<"deployment">, reference: Node<"deployment">, who: string, precision: Precision) => Node<"eval-report">
    name: string
    variant: { variant?: string | undefined }
  },
): Pipeline<"deployment"> => {
  const { model, pairs, evaluation, fidelityOf, name, variant } = shared
  if (run.precision === "fp32") throw new PresetRunError(`${preset.name}: the card runs fp16 or int8 (vamc's backend dtypes), not fp32; use --precision fp16 or int8 with --target vacc`)
  // bge-m3 on the card is its dense CLS embedding (the vendor compiles that output only).
  const exported = exportOnnx(deviceExportParams(preset.task === "reranker" ? "reranker" : "embedding")).to(model)
  const deployFor = () => deploy(preset.instruction !== undefined ? { instruction: preset.instruction } : {})
  // The fp32 reference is the same export on ONNX Runtime here: fidelity then measures the card alone.
  const reference = deployFor().as("deploy-fp32").to(exported)
  const vaccPreset = vaccQuantizePreset(preset)
  const compiled =
    run.precision === "fp16"
      ? pipeline(name, exported, variant).then(compile({ target: "vacc", seqlens: [...preset.deviceSeqlens] }))
      : // int8: vamc calibrates on the calibrate step's npz samples, at their seqlen.
        pipeline(name, exported, variant)
          .then(quantize({ target: "vacc", ...(vaccPreset !== undefined ? { preset: vaccPreset } : { calibrateMode: vamcCalibrateMode(preset) }) }, { calibration: calibrate({ samples: 100, seqlen: preset.seqlen }, { dataset: pairs }).to(exported) }))
          .then(compile({ target: "vacc", seqlens: [preset.seqlen] }))
  const chain = compiled.then(deployFor())
  return chain.also(
    evaluation(reportNodes.evaluate, chain.tail, ""),
    fidelityOf(chain.tail, reference, "-fp32", run.precision),
    bench({ batch: [1, 8] }, { dataset: pairs }).to(chain.tail),
    evaluation(reportNodes.evaluateFp32, reference, "-fp32"),
  )
}
