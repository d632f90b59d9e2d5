// vamc's int8 settings for the VastAI toolchain (DESIGN.md §6): the `quantize:` block (nested under
// `backend:` in a vamc compile config) and the `dataset:` block pointing at a calibration set's
// float32 npz files, validated with zod and rendered with the yaml package.

import { existsSync } from "node:fs"
import { join } from "node:path"
import { stringify } from "yaml"
import { z } from "zod"
import { CALIBRATION_MANIFEST, readCalibrationManifest } from "../calibration/index.ts"
import { describeIssue, formatIssuePath } from "../schema/index.ts"
import { QuantError } from "./quant-error.ts"

export const VaccQuantizeOptionsSchema = z
  .object({
    calibrateMode: z.enum(["max", "percentile"]),
    perChannel: z.boolean().default(true),
    /** Layer names vamc leaves in float (its mixed precision). */
    excludeLayers: z.array(z.string().min(1)).default([]),
    /** A calibration-set folder: its root holds vamc's <i>.npz samples. */
    calibrationDir: z.string().min(1),
    /** get_data_num: how many samples vamc calibrates on. */
    samples: z.number().int().positive(),
    /** calibrate_range: the share of values kept by percentile calibration, in (0, 1]. */
    calibrateRange: z.number().gt(0).lte(1).default(0.99999),
  })
  .strict()

export type VaccQuantizeOptions = z.input<typeof VaccQuantizeOptionsSchema>

/** The `quantize:` block, field names and fixed values as the vendor's configs use them. */
export const VaccQuantizeBlockSchema = z
  .object({
    calibrate_mode: z.enum(["max", "percentile"]),
    quantize_per_channel: z.boolean(),
    overflow_adaptive: z.literal(1),
    weight_scale: z.literal("max"),
    calibrate_chunk_by: z.literal(-1),
    calibrate_range: z.number().gt(0).lte(1),
    exclude_layers: z.array(z.string().min(1)),
    /** '!_add': quantize everything except elementwise adds (residuals stay float). */
    quantize_operators: z.array(z.string().min(1)).min(1),
  })
  .strict()

export const VaccDatasetBlockSchema = z
  .object({
    type: z.literal("tvm"),
    path: z.string().min(1),
    sampler: z.object({ suffix: z.literal("npz"), get_data_num: z.number().int().positive() }).strict(),
  })
  .strict()

export interface VaccQuantizeConfig {
  readonly quantize: z.infer<typeof VaccQuantizeBlockSchema>
  readonly dataset: z.infer<typeof VaccDatasetBlockSchema>
}

/**
 * Builds and validates the two blocks. When `calibrationDir` holds a calibration.json, `samples`
 * must not exceed the samples it lists. Errors are QuantError("bad-option") naming the field.
 */
export const vaccQuantizeConfig = (input: VaccQuantizeOptions): VaccQuantizeConfig => {
  const parsed = VaccQuantizeOptionsSchema.safeParse(input)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new QuantError(
      "bad-option",
      formatIssuePath(issue.path) || "vacc quantize options",
      `invalid vacc quantize option: ${describeIssue(issue, input, { schema: VaccQuantizeOptionsSchema, subject: false })}`,
    )
  }
  const o = parsed.data
  if (existsSync(join(o.calibrationDir, CALIBRATION_MANIFEST))) {
    const available = readCalibrationManifest(o.calibrationDir).samples
    if (o.samples > available)
      throw new QuantError("bad-option", "samples", `${o.samples} requested but the calibration set at ${o.calibrationDir} holds ${available}`)
  }
  const config: VaccQuantizeConfig = {
    quantize: VaccQuantizeBlockSchema.parse({
      calibrate_mode: o.calibrateMode,
      quantize_per_channel: o.perChannel,
      overflow_adaptive: 1,
      weight_scale: "max",
      calibrate_chunk_by: -1,
      calibrate_range: o.calibrateRange,
      exclude_layers: o.excludeLayers,
      quantize_operators: ["!_add"],
    }),
    dataset: VaccDatasetBlockSchema.parse({ type: "tvm", path: o.calibrationDir, sampler: { suffix: "npz", get_data_num: o.samples } }),
  }
  return config
}

/** YAML with top-level `quantize:` and `dataset:` (the compile config nests quantize under backend). */
export const renderVaccQuantizeYaml = (config: VaccQuantizeConfig): string =>
  stringify({ quantize: VaccQuantizeBlockSchema.parse(config.quantize), dataset: VaccDatasetBlockSchema.parse(config.dataset) })
