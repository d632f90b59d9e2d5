// The quantizer's entry points: quantizeOnnxModel (in memory) and quantizeModel (a model file in, a
// transformers.js-layout file out). They validate options, read the calibration set, calibrate,
// run the sensitivity search for exclude: "auto", rewrite, and return the kiln.json record.

import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readCalibrationSet, type CalibrationSample } from "../calibration/index.ts"
import { GraphEditor, readModel, writeModel, type OnnxModel, type WrittenModel } from "../onnx/index.ts"
import { ActivationCalibrator, calibratedRange } from "./calibration.ts"
import { ChannelRanges, type ChannelRange } from "./channel-ranges.ts"
import { collectActivations } from "./collect-activations.ts"
import { resolveExclusions, type Exclusions } from "./exclude.ts"
import { judgedOutput, measureHeldOutFidelity, runOutput, type HeldOutFidelity } from "./held-out-fidelity.ts"
import { convertToFloat16 } from "./fp16.ts"
import { GptqWeightRounder, HessianAccumulator } from "./gptq.ts"
import { GramSessions } from "./gram.ts"
import { Int8Planner } from "./int8-planner.ts"
import type { ActivationMode } from "./int8-rewrite.ts"
import { paramsForRange, type QuantParams } from "./params.ts"
import { QuantError } from "./quant-error.ts"
import { parseQuantizeOptions, resolveSmoothing, type DynamicInt8Options, type QuantizeOptions, type ResolvedSmoothing, type StaticInt8Options } from "./quantize-options.ts"
import { quantizedModelFile, type QuantizationRecord } from "./record.ts"
import { searchExclusions } from "./sensitivity.ts"
import { applySmoothing, layerNormChannelEstimate, smoothGroups } from "./smooth.ts"

export interface QuantizeContext {
  /** Scratch directory (default: a fresh one under the OS temp dir, removed afterwards). */
  readonly tmpDir?: string
  /** ORT intra-op threads for calibration and evaluation runs. */
  readonly threads?: number
  readonly log?: (line: string) => void
  /** Aborted when the caller gives up (Ctrl-C): calibration passes and the sensitivity search stop at their next sample or configuration. */
  readonly signal?: AbortSignal
  /**
   * Calibration samples given directly, instead of reading `options.calibration`'s folder (which
   * then only names where they came from): kiln's stand-in vamc calibrates on vamc's npz samples,
   * which are not a calibration-set folder.
   */
  readonly samples?: readonly CalibrationSample[]
  /** How the sensitivity search runs its configurations (sensitivity.ts); not an option users set — benchmarks compare the ways. */
  readonly candidates?: "segmented" | "switchable" | "rebuild"
}

export interface QuantizedOnnxModel {
  readonly model: OnnxModel
  readonly record: QuantizationRecord
}

/** Calibration samples (ranges, smoothing statistics) and held-out ones (fidelity), never overlapping when both are used. */
const splitSamples = (samples: readonly CalibrationSample[], options: DynamicInt8Options | StaticInt8Options, needHeldOut: boolean, needCalibration: boolean) => {
  const all = samples.slice(0, options.samples ?? samples.length)
  if (!needHeldOut) return { calibrate: all, heldOut: [] as CalibrationSample[] }
  const heldOut = options.heldOut ?? Math.max(1, Math.floor(all.length / 5))
  if (heldOut >= all.length && needCalibration)
    throw new QuantError("bad-option", "heldOut", `${heldOut} held-out samples leave none of the ${all.length} for calibration`)
  return { calibrate: needCalibration ? all.slice(0, all.length - heldOut) : all, heldOut: all.slice(Math.max(0, all.length - heldOut)) }
}

/** GPTQ's dampening (share of the mean Hessian diagonal) and lazy-update block, as in the paper. */
const GPTQ_DAMP = 0.01
const GPTQ_BLOCK = 128

const withTmp = async <T>(context: QuantizeContext, body: (dir: string) => Promise<T>): Promise<T> => {
  if (context.tmpDir !== undefined) return body(context.tmpDir)
  const dir = mkdtempSync(join(tmpdir(), "kiln-quantize-"))
  try {
    return await body(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * SmoothQuant on the float model: channel maxima observed on the calibration samples (or estimated
 * from LayerNorm constants), then scales migrated into the weights. Node names are kept, so
 * exclusions resolved on the original graph still apply.
 */
const smoothModel = async (model: OnnxModel, smoothing: ResolvedSmoothing, samples: readonly CalibrationSample[], ignorePadding: boolean, context: QuantizeContext, tmp: string) => {
  const started = Date.now()
  const groups = smoothGroups(model)
  let channelRange: (activation: string) => ChannelRange | undefined
  if (smoothing.from === "calibration") {
    if (samples.length === 0) throw new QuantError("bad-option", "smooth.from", `"calibration" needs calibration samples; the set has none left after holding out samples`)
    const observed = new ChannelRanges()
    await collectActivations(model, groups.map((g) => g.activation), samples, observed, { tmpDir: join(tmp, "smoothing"), ignorePadding, ...(context.threads !== undefined ? { threads: context.threads } : {}), ...(context.signal ? { signal: context.signal } : {}) })
    channelRange = (a) => observed.result(a)
  } else {
    const byActivation = new Map(groups.map((g) => [g.activation, layerNormChannelEstimate(model, g.activation, g.channels)]))
    channelRange = (a) => byActivation.get(a)
  }
  const smoothed = applySmoothing(model, groups, channelRange, {
    alpha: smoothing.alpha,
    from: smoothing.from,
    samples: smoothing.from === "calibration" ? samples.length : 0,
    minSpread: smoothing.minSpread,
    shift: smoothing.shift,
  })
  const shifted = smoothed.record.activations.filter((a) => a.shift.site !== null).length
  context.log?.(`smoothed ${smoothed.record.activations.length} activations (α ${smoothing.alpha}, from ${smoothing.from}; ${shifted} shifted) in ${Date.now() - started} ms`)
  return smoothed
}

const int8 = async (original: OnnxModel, options: DynamicInt8Options | StaticInt8Options, context: QuantizeContext, tmp: string): Promise<QuantizedOnnxModel> => {
  const editor = new GraphEditor(original)
  const base: Exclusions =
    options.exclude === undefined || options.exclude === "auto" ? new Map() : resolveExclusions(editor.nodes, (n) => editor.initializer(n) !== undefined, options.exclude)
  const auto = options.exclude === "auto"
  const smoothing = resolveSmoothing(options)
  const set = options.calibration === undefined || context.samples !== undefined ? undefined : readCalibrationSet(options.calibration)
  const gptq = options.weightRounding === "gptq"
  const needCalibration = options.scheme === "static-int8" || smoothing?.from === "calibration" || gptq
  const { calibrate, heldOut } = splitSamples(context.samples ?? set?.samples ?? [], options, auto || options.heldOut !== undefined, needCalibration)
  const details: Record<string, unknown> = { weights: `${options.weights} symmetric int8`, attention: options.attention, embeddings: options.embeddings }
  const threads = context.threads
  let model = original
  if (smoothing !== undefined) {
    const smoothed = await smoothModel(original, smoothing, calibrate, options.ignorePadding, context, tmp)
    model = smoothed.model
    details.smooth = smoothed.record
  } else details.smooth = false
  const plannerOptions = { weights: options.weights, attention: options.attention, embeddings: options.embeddings }
  let rounder: GptqWeightRounder | undefined
  let gptqRecord: Record<string, unknown> | undefined
  if (gptq) {
    // After smoothing, so each Hessian describes the input the (smoothed) weight actually multiplies.
    if (calibrate.length === 0) throw new QuantError("bad-option", "weightRounding", `"gptq" needs calibration samples; the set has none left after holding out samples`)
    const started = Date.now()
    const candidates = new Int8Planner(model, plannerOptions)
    const tensors = candidates.activationTensors()
    const widestInput = Math.max(0, ...candidates.targets.map((t) => (t.kind === "gather" ? 0 : t.weight.k)))
    const gram = new GramSessions({ tmpDir: join(tmp, "gram"), ...(threads !== undefined ? { threads } : {}) })
    const hessians = new HessianAccumulator(gram)
    try {
      // Real tokens only, whatever ignorePadding says for ranges: padding rows are inputs the weights never serve.
      await collectActivations(model, tensors, calibrate, hessians, { tmpDir: join(tmp, "gptq"), ignorePadding: true, ...(threads !== undefined ? { threads } : {}), ...(context.signal ? { signal: context.signal } : {}) })
      await hessians.settle(true)
    } finally {
      await gram.close()
    }
    rounder = new GptqWeightRounder(hessians, { damp: GPTQ_DAMP, block: GPTQ_BLOCK })
    gptqRecord = {
      method: "gptq",
      damp: GPTQ_DAMP,
      block: GPTQ_BLOCK,
      order: "decreasing Hessian diagonal (act order)",
      samples: calibrate.length,
      tokens: Math.max(0, ...tensors.map((t) => hessians.tokens(t))),
      widestInput,
      activations: tensors.length,
      hessianSeconds: (Date.now() - started) / 1000,
    }
    context.log?.(`gptq: accumulated ${tensors.length} Hessians on ${calibrate.length} samples in ${Date.now() - started} ms`)
    const tokens = gptqRecord.tokens as number
    // XᵀX over fewer tokens than channels is singular: dampening keeps it usable, but the rounding
    // then knows nothing about most directions of the input.
    if (tokens < widestInput)
      context.log?.(`gptq: warning: ${tokens} calibration tokens for inputs of up to ${widestInput} channels; those Hessians are rank-deficient — give more calibration text (at least ${widestInput} real tokens)`)
  }
  const planner = new Int8Planner(model, { ...plannerOptions, ...(rounder !== undefined ? { rounder } : {}) })

  let activations: ActivationMode
  if (options.scheme === "dynamic-int8") {
    activations = { kind: "dynamic", form: options.form }
    details.activations = "uint8 per tensor, quantized at run time (DynamicQuantizeLinear)"
    details.form = options.form
  } else {
    const calibrator = new ActivationCalibrator({ method: options.method, percentile: options.percentile })
    const tensors = planner.activationTensors()
    const started = Date.now()
    const collected = await collectActivations(model, tensors, calibrate, calibrator, { tmpDir: tmp, ignorePadding: options.ignorePadding, ...(threads !== undefined ? { threads } : {}), ...(context.signal ? { signal: context.signal } : {}) })
    const scheme = options.activations === "symmetric" ? "symmetric-int8" : "asymmetric-uint8"
    const params = new Map<string, QuantParams>()
    for (const t of tensors) {
      const range = calibratedRange(calibrator.result(t))
      params.set(t, paramsForRange(scheme, range.min, range.max, t))
    }
    context.log?.(`calibrated ${tensors.length} activations on ${calibrate.length} samples in ${Date.now() - started} ms`)
    activations = {
      kind: "static",
      params: (t) => params.get(t) ?? (() => { throw new QuantError("no-observations", t, "activation was not calibrated") })(),
      rank: (t) => collected.ranks.get(t),
      staticShapes: model.graph.inputs.every((i) => i.dims !== undefined && i.dims.every((d) => typeof d === "number")),
    }
    details.activations = `${scheme === "symmetric-int8" ? "symmetric int8" : "asymmetric uint8"} per tensor, static`
    details.calibration = {
      method: options.method,
      ...(options.method === "percentile" ? { percentile: options.percentile } : {}),
      samples: calibrate.length,
      ignorePadding: options.ignorePadding,
      set: options.calibration,
    }
  }

  let exclusions = base
  if (auto) {
    const output = judgedOutput(model)
    const reference = await runOutput(original, join(tmp, "reference", "model.onnx"), output, heldOut, threads)
    const search = await searchExclusions({
      planner,
      activations,
      base,
      reference,
      samples: heldOut,
      output,
      budget: options.budget,
      search: options.sensitivity,
      tmpDir: tmp,
      ...(threads !== undefined ? { threads } : {}),
      ...(context.log ? { log: context.log } : {}),
      ...(context.signal ? { signal: context.signal } : {}),
      ...(context.candidates ? { candidates: context.candidates } : {}),
    })
    exclusions = search.exclusions
    details.sensitivity = search.record
    if (search.fidelity !== undefined) details.fidelity = { output, ...search.fidelity }
  }
  const built = planner.build(activations, exclusions)
  if (rounder !== undefined) {
    details.weightRounding = { ...gptqRecord, weights: rounder.weights, roundingSeconds: rounder.milliseconds / 1000 }
    context.log?.(`gptq: rounded ${rounder.weights} weights in ${Math.round(rounder.milliseconds)} ms`)
  } else details.weightRounding = "nearest"
  details.exclude = options.exclude ?? null
  details.quantizedNodes = built.quantized.length
  details.quantizedAs = countBy(built.quantized.map((q) => q.as))
  details.floatNodes = built.float
  if (heldOut.length > 0 && !auto) details.fidelity = await heldOutFidelity(original, built.model, heldOut, tmp, threads)
  return { model: built.model, record: { scheme: options.scheme, details } }
}

const heldOutFidelity = async (model: OnnxModel, quantized: OnnxModel, samples: readonly CalibrationSample[], tmp: string, threads?: number): Promise<HeldOutFidelity & { output: string }> => {
  const output = judgedOutput(model)
  const reference = await runOutput(model, join(tmp, "reference", "model.onnx"), output, samples, threads)
  return { output, ...(await measureHeldOutFidelity(quantized, reference, samples, output, join(tmp, "final"), threads)) }
}

const countBy = (values: readonly string[]): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const v of values) out[v] = (out[v] ?? 0) + 1
  return out
}

/** Quantizes an in-memory model. Options are validated here (QuantError naming the field). */
export const quantizeOnnxModel = async (model: OnnxModel, input: QuantizeOptions, context: QuantizeContext = {}): Promise<QuantizedOnnxModel> => {
  const options = parseQuantizeOptions(input)
  if (options.scheme === "fp16") {
    const converted = convertToFloat16(model, { keepFp32: options.keepFp32, keepIoFloat32: options.keepIoFloat32, ...(options.exclude ? { exclude: options.exclude } : {}) })
    return {
      model: converted.model,
      record: {
        scheme: "fp16",
        details: { keepFp32: options.keepFp32, keepIoFloat32: options.keepIoFloat32, exclude: options.exclude ?? null, keptFp32Nodes: converted.keptFp32, convertedInitializers: converted.convertedInitializers, casts: converted.casts },
      },
    }
  }
  return withTmp(context, (tmp) => int8(model, options, context, tmp))
}

export interface QuantizeModelResult extends QuantizedOnnxModel {
  /** Relative to the output folder: "onnx/model_quantized.onnx" or "onnx/model_fp16.onnx". */
  readonly file: string
  readonly written: WrittenModel
  /**
   * How long quantizing took. For logs only: the record goes into the artifact (kiln.json), which
   * must be a function of inputs and params, so it holds no timings and no input paths.
   */
  readonly seconds: number
}

/** Reads `inputPath`, quantizes it and writes `<outDir>/onnx/model_quantized.onnx` (int8) or `model_fp16.onnx`. */
export const quantizeModel = async (inputPath: string, outDir: string, input: QuantizeOptions, context: QuantizeContext = {}): Promise<QuantizeModelResult> => {
  const options = parseQuantizeOptions(input)
  const model = await readModel(inputPath)
  const started = Date.now()
  const result = await quantizeOnnxModel(model, options, context)
  const file = quantizedModelFile(options.scheme)
  const written = await writeModel(result.model, join(outDir, file))
  return { ...result, file, written, seconds: (Date.now() - started) / 1000 }
}
