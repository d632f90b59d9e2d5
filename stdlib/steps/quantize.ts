// The quantize step (calibration sets come from calibrate.ts): turns an
// "onnx-model" into an int8 / fp16 one for the CPU, or — target "vacc" — emits vamc's quantize:
// and dataset: blocks beside the unchanged model for the accelerator compiler.
import { cpSync, existsSync, mkdirSync, readdirSync } from "node:fs"
import { basename, join } from "node:path"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { readModelManifest, renderModelManifest } from "../../src/artifacts/index.ts"
import { readCalibrationManifest } from "../../src/calibration/index.ts"
import { defineStep } from "../../src/engine/index.ts"
import {
  bgeM3VaccPreset,
  bgeRerankerV2M3VaccPreset,
  DynamicInt8OptionsSchema,
  Fp16OptionsSchema,
  manifestWeights,
  presetOptions,
  quantizeModel,
  renderVaccQuantizeYaml,
  StaticInt8OptionsSchema,
  vaccQuantizeConfig,
  VaccQuantizeOptionsSchema,
  verifyIntegerKernels,
} from "../../src/quant/index.ts"
import { VAMC_CALIBRATION_DIR, VAMC_QUANTIZE_FILE } from "../../src/targets/index.ts"
import { attempt, attemptSync, type StepErrorFields } from "./attempt.ts"
import { writeText } from "./write-report.ts"

const vaccParams = z
  .object({
    target: z.literal("vacc"),
    /** Start from the vendor-style mixed-precision preset (our reconstruction; see src/quant/vacc-presets.ts). */
    preset: z.enum(["bge-m3", "bge-reranker-v2-m3"]).optional(),
  })
  .extend(VaccQuantizeOptionsSchema.omit({ calibrationDir: true, samples: true }).partial().shape)
  .extend({ samples: z.number().int().positive().optional() })
  .strict()

// The calibration set arrives as an input, not a param.
const cpuTarget = { target: z.literal("cpu").default("cpu") }
export const quantizeParams = z.union([
  DynamicInt8OptionsSchema.omit({ calibration: true }).extend(cpuTarget),
  StaticInt8OptionsSchema.omit({ calibration: true }).extend(cpuTarget),
  Fp16OptionsSchema.extend(cpuTarget),
  vaccParams,
])

/** Copies the model folder except its ONNX files (a quantized folder holds only its own). */
const copyModelFolder = (from: string, to: string): void => {
  for (const entry of readdirSync(from)) {
    if (entry === "onnx") continue
    cpSync(join(from, entry), join(to, entry), { recursive: true })
  }
}

/** How the quantize step fails: the quantizer's message (naming the field or tensor) and a hint. */
export class QuantizeError extends Data.TaggedError("QuantizeError")<StepErrorFields> {}

export const quantize = defineStep({
  name: "quantize",
  // 2: target vacc copies vamc's samples into the artifact and points dataset.path at them relatively.
  version: 2,
  params: quantizeParams,
  inputs: { model: "onnx-model", calibration: "calibration-set" },
  main: "model",
  output: "onnx-model",
  run: (ctx) =>
    Effect.gen(function* () {
      const p = ctx.params
      const modelDir = ctx.inputs.model.path
      const calibrationDir = ctx.inputs.calibration.path
      const manifest = yield* attemptSync(QuantizeError, () => readModelManifest(modelDir))
      yield* attemptSync(QuantizeError, () => copyModelFolder(modelDir, ctx.outDir))

      if (p.target === "vacc") {
        const { target: _t, preset, samples, ...rest } = p
        const base = preset === "bge-m3" ? bgeM3VaccPreset() : preset === "bge-reranker-v2-m3" ? bgeRerankerV2M3VaccPreset() : undefined
        // The artifact carries its own copy of vamc's samples and names it relatively: an absolute
        // path would point into a scratch dir and make the output depend on where it was built.
        const local = join(ctx.outDir, VAMC_CALIBRATION_DIR)
        const available = yield* attemptSync(QuantizeError, () => {
          const calibration = readCalibrationManifest(calibrationDir)
          mkdirSync(local, { recursive: true })
          for (const file of calibration.vamc.files) cpSync(join(calibrationDir, file), join(local, basename(file)))
          return calibration.samples
        })
        const options = { ...(base !== undefined ? presetOptions(base, local, samples ?? available) : { calibrateMode: "percentile" as const, calibrationDir: local, samples: samples ?? available }), ...rest }
        const config = yield* attemptSync(QuantizeError, () => vaccQuantizeConfig(options), "fix the quantize params")
        yield* attemptSync(QuantizeError, () => cpSync(join(modelDir, "onnx"), join(ctx.outDir, "onnx"), { recursive: true }))
        const relative = { ...config, dataset: { ...config.dataset, path: VAMC_CALIBRATION_DIR } }
        yield* writeText(QuantizeError, ctx.outDir, VAMC_QUANTIZE_FILE, renderVaccQuantizeYaml(relative))
        yield* ctx.log(`vamc quantize config for ${config.dataset.sampler.get_data_num} samples (${config.quantize.calibrate_mode})`)
        return
      }

      const { target: _t, ...options } = p
      const quantOptions = options.scheme === "fp16" ? options : { ...options, calibration: calibrationDir }
      const result = yield* attempt(
        QuantizeError,
        (signal) => quantizeModel(join(modelDir, manifest.model), ctx.outDir, quantOptions, { tmpDir: ctx.tmpDir, threads: 2, log: (line) => Effect.runSync(ctx.log(line)), signal }),
        "fix the quantize params (the message names the field)",
      )
      if (options.scheme !== "fp16") {
        const report = yield* attempt(QuantizeError, () => verifyIntegerKernels(join(ctx.outDir, result.file)))
        yield* ctx.log(`integer kernels after ORT optimisation: ${JSON.stringify(report.integerKernels)}`)
        if (Object.values(report.integerKernels).reduce((a, b) => a + b, 0) === 0) {
          yield* ctx.log("warning: nothing runs in int8 — every quantizable layer was kept in float (see quantization.details in kiln.json); the model is as slow as fp32")
        }
      }
      const dataFile = `${result.file}_data`
      yield* writeText(
        QuantizeError,
        ctx.outDir,
        "kiln.json",
        renderModelManifest({
          ...manifest,
          model: result.file,
          externalData: existsSync(join(ctx.outDir, dataFile)) ? dataFile : null,
          weights: manifestWeights(result.record),
          quantization: result.record,
          optimization: null,
        }),
      )
      // Where the input was and how long it took belong in the log, not in the artifact.
      yield* ctx.log(`quantized ${join(modelDir, manifest.model)} (${result.record.scheme}) → ${result.file} in ${result.seconds.toFixed(1)} s`)
    }),
})
