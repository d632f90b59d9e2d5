// The deploy step: a self-contained deployment of a compiled model, for the target that compiled
// it — cpu: model, tokenizer and runtime.json for ONNX Runtime; vacc: the compiled models per
// seqlen, tokenizer and vacc-deployment.json for the vaststreamx runner.
// Kind: "onnx-model" → "deployment".
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { defineStep } from "../../src/engine/index.ts"
import { targetOfModel } from "../../src/targets/index.ts"
import { attemptEffect, attemptSync, type StepErrorFields } from "./attempt.ts"
import { onTarget, runsOnModel } from "./on-target.ts"

/** How the deploy step fails: the target's message naming the model folder or file, and its hint. */
export class DeployError extends Data.TaggedError("DeployError")<StepErrorFields> {}

export const deploy = defineStep({
  name: "deploy",
  version: 1,
  params: z.object({
    instruction: z.string().optional(),
    maxLength: z.number().int().positive().optional(),
    threads: z.number().int().positive().optional(),
  }),
  inputs: { model: "onnx-model" },
  output: "deployment",
  resources: "io",
  runsOn: (_p, inputs) => runsOnModel(inputs.model),
  run: (ctx) =>
    Effect.gen(function* () {
      const target = yield* attemptSync(DeployError, () => targetOfModel(ctx.inputs.model.path))
      const made = yield* onTarget(target.deploy({ modelDir: ctx.inputs.model.path, outDir: ctx.outDir, params: ctx.params, log: ctx.log })).pipe(attemptEffect(DeployError))
      yield* ctx.log(`${target.name} deployment: ${made.files} files, task ${made.task}`)
    }),
})
