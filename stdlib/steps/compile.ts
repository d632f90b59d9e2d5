// The compile step: a model folder made runnable on a target. cpu: ONNX Runtime's offline graph
// optimisation for this CPU, checking that the fusions the exporter's graph was built for
// happened, and pruning to the kept outputs. vacc: `vamc compile` per seqlen (fp16, or int8 from
// the quantize step's vamc blocks). Each target adds its own params (src/targets/<name>).
// Kind: "onnx-model" → "onnx-model".
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { defineStep } from "../../src/engine/index.ts"
import { chooseTarget, compileParamsShape, Targets, TargetsLive, TargetParam } from "../../src/targets/index.ts"
import { attemptEffect, attemptSync, type StepErrorFields } from "./attempt.ts"
import { onTarget, runsOnTarget, targetFingerprint } from "./on-target.ts"

/** How the compile step fails: the target's message (ONNX Runtime's fusion check, vamc naming its config or log) and its hint. */
export class CompileError extends Data.TaggedError("CompileError")<StepErrorFields> {}

/** Every registered target's compile params in one object. */
const compileParams = z.object(compileParamsShape()).extend({
  /** Where the model will run: "cpu", "vacc", or "auto" (the accelerator when its toolchain and a die are found, else the CPU). */
  target: TargetParam.default("auto"),
})

export const compile = defineStep({
  name: "compile",
  // 2: the last layer runs on the first token only whenever the kept outputs allow it.
  version: 2,
  params: compileParams,
  inputs: { model: "onnx-model" },
  output: "onnx-model",
  // cpu: graphs optimised at level "all" are tied to the ORT version and the CPU; vacc: the tool versions.
  fingerprint: (p) => targetFingerprint(p.target),
  runsOn: (p) => runsOnTarget(p.target),
  // Optimised for this CPU or device toolchain: the lock file records its output per host class.
  reproducible: "host",
  run: (ctx) =>
    Effect.gen(function* () {
      const { all } = yield* Targets
      const chosen = yield* attemptSync(CompileError, () => chooseTarget(ctx.params.target, all))
      yield* ctx.log(chosen.why)
      yield* onTarget(chosen.target.compile({ modelDir: ctx.inputs.model.path, outDir: ctx.outDir, tmpDir: ctx.tmpDir, params: ctx.params, log: ctx.log })).pipe(attemptEffect(CompileError))
    }).pipe(Effect.provide(TargetsLive)),
})
