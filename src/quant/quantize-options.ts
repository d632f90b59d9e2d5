// The options of the graph passes, validated with zod at the boundary: one schema per scheme, with
// errors that name the field ("percentile", "calibration", "exclude.layers[0]") and what was expected.

import { z } from "zod"
import { describeIssue, formatIssuePath } from "../schema/index.ts"
import { QuantError } from "./quant-error.ts"

export const ExcludeSpecSchema = z
  .object({
    nodes: z.array(z.string().min(1)).optional(),
    opTypes: z.array(z.string().min(1)).optional(),
    layers: z.array(z.number().int().nonnegative()).optional(),
  })
  .strict()

/** "auto": search which MatMul groups (or layers) to keep in float until `budget` holds (see sensitivity.ts). */
export const ExcludeOptionSchema = z.union([z.literal("auto"), ExcludeSpecSchema])

/**
 * What exclude: "auto" must reach on the held-out samples; every criterion given must hold. With
 * none given, meanCosine 0.999. Scalar outputs (reranker logits) have no per-sample cosine: there
 * meanCosine and minCosine apply to the Pearson correlation of the scores.
 */
export const BudgetSchema = z
  .object({
    /** Mean over held-out samples of the cosine between quantized and fp32 outputs (scalar outputs: Pearson). */
    meanCosine: z.number().gt(0).lte(1).optional(),
    /** Lowest per-sample cosine (scalar outputs: Pearson). */
    minCosine: z.number().gt(-1).lte(1).optional(),
    /** Scalar outputs only: Spearman rank correlation of quantized and fp32 scores. */
    spearman: z.number().gt(-1).lte(1).optional(),
    /** Scalar outputs only: largest allowed mean |quantized − fp32| score. */
    meanAbsDiff: z.number().positive().optional(),
  })
  .strict()
  .transform((b) => (b.meanCosine === undefined && b.minCosine === undefined && b.spearman === undefined && b.meanAbsDiff === undefined ? { ...b, meanCosine: 0.999 } : b))

/**
 * How exclude: "auto" searches. unit "matmul": one group per quantized MatMul role of a layer (QKV,
 * attention output, FFN up, FFN down) and per head; "layer": whole encoder layers. probe "alone":
 * a group's loss is measured with only it quantized; "remove": as the gain of keeping only it in
 * float in the fully quantized model. `prune`: after the budget holds, try this many of the
 * costliest kept groups back in int8 (one measurement each).
 */
export const SensitivityOptionsSchema = z
  .object({
    unit: z.enum(["matmul", "layer"]).default("matmul"),
    probe: z.enum(["alone", "remove"]).default("alone"),
    prune: z.number().int().nonnegative().default(4),
  })
  .strict()

/**
 * SmoothQuant smoothing before int8 (see smooth.ts). `true` or an object turns it on; `false` off;
 * absent: on when a calibration set is given. `from`: "calibration" observes max |X_j| on the
 * calibration samples (default when there are any), "layernorm" estimates it from the producing
 * LayerNorm's γ/β (no data needed; only LayerNorm outputs are smoothed).
 */
export const SmoothOptionSchema = z.union([
  z.boolean(),
  z
    .object({
      /** Share of the activation range migrated into the weights, in (0, 1); 0.5 splits it evenly. */
      alpha: z.number().gt(0).lt(1).default(0.5),
      from: z.enum(["calibration", "layernorm"]).optional(),
      /**
       * With observed maxima: smooth only activations whose largest channel max is at least this
       * many times the median channel max (outlier channels). LayerNorm estimates are always used.
       */
      minSpread: z.number().gte(1).default(4),
      /**
       * Centre each channel of an activation on its observed (or LayerNorm-estimated) range before
       * quantizing, folding the shift into constants (Outlier Suppression+); see smooth.ts.
       */
      shift: z.boolean().default(true),
    })
    .strict(),
])

const int8Common = {
  /** Weight scales: one per output channel (default) or one per tensor. */
  weights: z.enum(["per-channel", "per-tensor"]).default("per-channel"),
  /**
   * com.microsoft:Attention's packed QKV projection: "quantize" (→ com.microsoft:QAttention, default)
   * or "float". It is a quarter of an encoder layer's weight FLOPs, so leaving it float caps the speed-up.
   */
  attention: z.enum(["quantize", "float"]).default("quantize"),
  /** Quantize embedding tables (Gather), dequantizing after the Gather. Off by default. */
  embeddings: z.boolean().default(false),
  exclude: ExcludeOptionSchema.optional(),
  budget: BudgetSchema.default({ meanCosine: 0.999 }),
  sensitivity: SensitivityOptionsSchema.default({ unit: "matmul", probe: "alone", prune: 4 }),
  /** Calibration-set folder (writeCalibrationSet). Static int8 calibrates on it; "auto" exclusion evaluates on it. */
  calibration: z.string().min(1).optional(),
  /** Use at most this many calibration samples. */
  samples: z.number().int().positive().optional(),
  /**
   * Samples held out of calibration to judge fidelity for exclude: "auto" (default: a fifth, at
   * least 1). Given without "auto", the record gets the final model's fidelity on them.
   */
  heldOut: z.number().int().positive().optional(),
  smooth: SmoothOptionSchema.optional(),
  /** Observe activations at real tokens only, not at padding (default true). */
  ignorePadding: z.boolean().default(true),
  /**
   * How MatMul/Gemm/Attention weights are rounded to their int8 grid: "nearest" (default) or "gptq",
   * which rounds input channels one at a time and compensates each error on the rest using the
   * calibration inputs' Hessian (see gptq.ts; needs a calibration set). Scales are the same either way.
   */
  weightRounding: z.enum(["nearest", "gptq"]).default("nearest"),
}

export const DynamicInt8OptionsSchema = z
  .object({
    scheme: z.literal("dynamic-int8"),
    ...int8Common,
    /** "onnx": standard ops ORT fuses (portable); "contrib": com.microsoft:DynamicQuantizeMatMul directly. */
    form: z.enum(["onnx", "contrib"]).default("onnx"),
  })
  .strict()

export const StaticInt8OptionsSchema = z
  .object({
    scheme: z.literal("static-int8"),
    ...int8Common,
    method: z.enum(["max", "percentile", "entropy"]).default("percentile"),
    /** Share of |x| the percentile range covers, in (0, 100]. */
    percentile: z.number().default(99.999),
    /** "asymmetric": uint8 with a zero point (default); "symmetric": int8, zero point 0. */
    activations: z.enum(["asymmetric", "symmetric"]).default("asymmetric"),
  })
  .strict()

export const Fp16OptionsSchema = z
  .object({
    scheme: z.literal("fp16"),
    /** Op types computed in float32 (inputs cast up, outputs cast down). */
    keepFp32: z.array(z.string().min(1)).default(["LayerNormalization", "Softmax"]),
    /** Keep float32 graph inputs and outputs (a Cast at each), default true. */
    keepIoFloat32: z.boolean().default(true),
    exclude: ExcludeSpecSchema.optional(),
  })
  .strict()

export const QuantizeOptionsSchema = z.discriminatedUnion("scheme", [DynamicInt8OptionsSchema, StaticInt8OptionsSchema, Fp16OptionsSchema])

export type QuantizeOptions = z.input<typeof QuantizeOptionsSchema>
export type ResolvedQuantizeOptions = z.output<typeof QuantizeOptionsSchema>
export type DynamicInt8Options = z.output<typeof DynamicInt8OptionsSchema>
export type StaticInt8Options = z.output<typeof StaticInt8OptionsSchema>
export type Fp16Options = z.output<typeof Fp16OptionsSchema>
export type ExcludeOption = z.output<typeof ExcludeOptionSchema>
export type SmoothOption = z.output<typeof SmoothOptionSchema>
export type Budget = z.output<typeof BudgetSchema>
export type SensitivityOptions = z.output<typeof SensitivityOptionsSchema>

/** Smoothing as it will run, or undefined for none. */
export interface ResolvedSmoothing {
  readonly alpha: number
  readonly from: "calibration" | "layernorm"
  readonly minSpread: number
  readonly shift: boolean
}

/** Applies the defaults: on when calibration data exists, observed channel maxima when there are samples. */
export const resolveSmoothing = (options: DynamicInt8Options | StaticInt8Options): ResolvedSmoothing | undefined => {
  const smooth = options.smooth
  if (smooth === false || (smooth === undefined && options.calibration === undefined)) return undefined
  const spec = typeof smooth === "object" ? smooth : { alpha: 0.5, from: undefined, minSpread: 4, shift: true }
  const from = spec.from ?? (options.calibration !== undefined ? "calibration" : "layernorm")
  return { alpha: spec.alpha, from, minSpread: from === "calibration" ? spec.minSpread : 1, shift: spec.shift }
}

/** The deepest issue of a failed union branch, so "smooth.alpha" is named instead of "smooth". */
const deepestIssue = (issue: z.core.$ZodIssue): z.core.$ZodIssue => {
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return issue
  const nested = issue.errors.flat().map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as z.core.$ZodIssue)
  if (nested.length === 0) return issue
  return nested.reduce((a, b) => (b.path.length > a.path.length ? b : a))
}

/** Validates quantize options; throws QuantError("bad-option") naming the field. */
export const parseQuantizeOptions = (input: unknown): ResolvedQuantizeOptions => {
  const parsed = QuantizeOptionsSchema.safeParse(input)
  if (!parsed.success) {
    const first = parsed.error.issues[0]!
    const issue = first.path.length > 0 ? deepestIssue(first) : first
    const field = issue.path.length > 0 ? formatIssuePath(issue.path) : "scheme"
    const detail =
      issue.path.length === 0 && issue.code === "invalid_union"
        ? `must be "dynamic-int8", "static-int8" or "fp16"`
        : issue.path[0] === "percentile"
          ? `must be a number in (0, 100], got ${String((input as { percentile?: unknown }).percentile)}`
          : describeIssue(issue, input, { subject: false })
    throw new QuantError("bad-option", field, `invalid quantize option: ${detail}`)
  }
  const options = parsed.data
  if (options.scheme === "static-int8") {
    if (!(options.percentile > 0 && options.percentile <= 100))
      throw new QuantError("bad-option", "percentile", `must be a number in (0, 100], got ${options.percentile}`)
    if (options.calibration === undefined)
      throw new QuantError("bad-option", "calibration", "static int8 needs a calibration set (a folder written by writeCalibrationSet) to compute activation ranges")
  }
  if (options.scheme !== "fp16" && typeof options.smooth === "object" && options.smooth.from === "calibration" && options.calibration === undefined)
    throw new QuantError("bad-option", "smooth.from", `"calibration" needs a calibration set to observe activation channels; give one, or use from: "layernorm"`)
  if (options.scheme !== "fp16" && options.weightRounding === "gptq" && options.calibration === undefined)
    throw new QuantError("bad-option", "weightRounding", `"gptq" needs a calibration set: it weighs rounding errors by the layer inputs observed on calibration samples`)
  if (options.scheme !== "fp16" && options.exclude === "auto" && options.calibration === undefined)
    throw new QuantError("bad-option", "calibration", `exclude: "auto" needs a calibration set: it measures fidelity on held-out calibration samples`)
  return options
}
