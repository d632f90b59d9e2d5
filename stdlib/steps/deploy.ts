// The deploy step: a self-contained deployment of a compiled model, for the target that compiled
// it — cpu: model, tokenizer and runtime.json for ONNX Runtime; vacc: the compiled models per
// seqlen, tokenizer and vacc-deployment.json for the vaststreamx runner.
// Kind: "onnx-model" → "deployment".
import * as Effect from "effect/Effect"
import { z } from "zod"
import { defineStep } from "../../src/engine/index.ts"
import { targetOfModel } from "../../src/targets/index.ts"
import { onTarget } from "./on-target.ts"

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
  run: (ctx) =>
    Effect.gen(function* () {
      const target = yield* Effect.try({ try: () => targetOfModel(ctx.inputs.model.path), catch: (e) => e as never })
      const made = yield* onTarget(target.deploy({ modelDir: ctx.inputs.model.path, outDir: ctx.outDir, params: ctx.params, log: ctx.log }))
      yield* ctx.log(`${target.name} deployment: ${made.files} files, task ${made.task}`)
    }),
})
